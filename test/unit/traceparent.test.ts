import { childTraceparent, newTraceparent, parseTraceparent } from '../../lambdas/domain/traceparent';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('traceparent', () => {
  it('parses a valid version-00 header', () => {
    expect(parseTraceparent(VALID)).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      flags: '01',
    });
  });

  it.each([
    ['missing', undefined],
    ['upper case', VALID.toUpperCase()],
    ['version ff', 'ff' + VALID.slice(2)],
    ['extra part in version 00', VALID + '-extra'],
    ['all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['all-zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['short trace id', '00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01'],
    ['garbage', 'hello'],
  ])('ignores an invalid header (%s)', (_what, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });

  it('accepts a future version with more parts', () => {
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future')?.traceId).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
  });

  it('starts a new valid trace each time', () => {
    const a = newTraceparent();
    const b = newTraceparent();
    expect(parseTraceparent(a)).toBeDefined();
    expect(parseTraceparent(a)!.traceId).not.toBe(parseTraceparent(b)!.traceId);
  });

  it('keeps the trace id and flags and makes a new span id for a child', () => {
    const child = parseTraceparent(childTraceparent(VALID))!;
    expect(child.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(child.flags).toBe('01');
    expect(child.parentId).not.toBe('00f067aa0ba902b7');
    expect(childTraceparent(VALID)).not.toBe(childTraceparent(VALID));
  });
});
