import { jmespathSchema, mapRequest, mapResponse } from '../../../lambdas/connectors/mapping';
import { isRetryable } from '../../../lambdas/domain/retry-policy';
import { RequestPreparationError, UpstreamError } from '../../../lambdas/shared/errors';

describe('jmespathSchema', () => {
  test('accepts valid expressions, including ones that can only fail on real data', () => {
    for (const e of [
      'payload.id',
      '{id: recordId, n: payload.items[0].name}',
      'length(payload.count)',
      'payload.lines[?qty > `1`].sku',
    ]) {
      expect(jmespathSchema.safeParse(e).success).toBe(true);
    }
  });

  test("refuses syntax errors and unknown functions with the parser's reason", () => {
    for (const e of ['account.[name', '{id: }', 'nosuchfn(payload)', 'payload.']) {
      const r = jmespathSchema.safeParse(e);
      expect(r.success).toBe(false);
      expect(r.error!.issues[0]!.message).toMatch(/^is not a valid JMESPath expression: /);
    }
  });
});

describe('mapRequest', () => {
  test('evaluates over {payload, recordId}', () => {
    expect(
      mapRequest('{id: recordId, name: payload.account.name, tags: payload.tags[].code}', {
        payload: { account: { name: 'Acme' }, tags: [{ code: 'a' }, { code: 'b' }] },
        recordId: '001',
      }),
    ).toEqual({
      id: '001',
      name: 'Acme',
      tags: ['a', 'b'],
    });
    expect(mapRequest('{id: recordId, p: payload}', { payload: undefined })).toEqual({ id: null, p: null });
  });

  test('a failure is a non-retryable preparation error naming the expression', () => {
    let err: unknown;
    try {
      mapRequest('length(payload.count)', { payload: { count: 5 } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RequestPreparationError);
    expect(err).toMatchObject({ code: 'MAPPING_FAILED' });
    expect((err as Error).message).toContain('"length(payload.count)"');
    expect(isRetryable(err)).toBe(false);
  });
});

describe('mapResponse', () => {
  test('picks and renames fields', () => {
    expect(
      mapResponse('{total: order.amount, status: order.state}', {
        order: { amount: 12.5, state: 'open', secretInternal: 1 },
      }),
    ).toEqual({ total: 12.5, status: 'open' });
  });

  test('a failure is an upstream error (the call happened), not retryable', () => {
    let err: unknown;
    try {
      mapResponse('abs(order.state)', { order: { state: 'open' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).not.toBeInstanceOf(RequestPreparationError);
    expect(err).toMatchObject({ code: 'MAPPING_FAILED' });
    expect((err as Error).message).toContain('"abs(order.state)"');
    expect(isRetryable(err)).toBe(false);
  });
});
