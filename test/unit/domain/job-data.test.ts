import { INLINE_MAX_BYTES, jobDataKey, placeJobData } from '../../../lambdas/domain/job-data';

/** The claim-check rule on its own: what stays in the job item and what goes to the data store. */
describe('placeJobData', () => {
  /** A JSON string value of exactly `bytes` bytes once serialized (two quotes included). */
  const ofBytes = (bytes: number) => 'x'.repeat(bytes - 2);

  test('a value up to the limit stays inline, unchanged', () => {
    const value = ofBytes(INLINE_MAX_BYTES);
    expect(placeJobData('payload', 'j1', value)).toEqual({ inline: value });
    expect(placeJobData('result', 'j1', { ok: true })).toEqual({ inline: { ok: true } });
  });

  test('one byte over the limit goes to the store under the kind and job key, as its JSON', () => {
    const value = ofBytes(INLINE_MAX_BYTES + 1);
    expect(placeJobData('payload', 'j1', value)).toEqual({
      ref: jobDataKey.payload('j1'),
      body: JSON.stringify(value),
    });
    expect(placeJobData('result', 'j2', value)).toMatchObject({ ref: jobDataKey.result('j2') });
  });

  test('the limit counts UTF-8 bytes, not characters', () => {
    // 40 two-byte characters: 42 characters of JSON, 82 bytes.
    const value = 'é'.repeat(40);
    expect(placeJobData('payload', 'j1', value, 81)).toMatchObject({ ref: jobDataKey.payload('j1') });
    expect(placeJobData('payload', 'j1', value, 82)).toEqual({ inline: value });
  });

  test('undefined is kept as JSON null when it has to move', () => {
    expect(placeJobData('result', 'j1', undefined, 0)).toEqual({ ref: jobDataKey.result('j1'), body: 'null' });
  });
});
