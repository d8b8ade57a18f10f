import { parseConnector } from '../../../lambdas/connectors/schema';
import type { RestConnector } from '../../../lambdas/connectors/rest/schema';
import { buildRestRequest } from '../../../lambdas/connectors/rest/wrapper';

function connector(operations: Record<string, unknown>): RestConnector {
  const parsed = parseConnector({ connectorId: 'c', type: 'rest', baseUrl: 'https://api.example.com/v2/', operations });
  if (!parsed.ok || parsed.connector.type !== 'rest') throw new Error(JSON.stringify(parsed));
  return parsed.connector;
}

describe('buildRestRequest', () => {
  test('GET: path placeholders are filled and encoded; other fields become the query', () => {
    const c = connector({ get: { method: 'GET', path: '/accounts/{id}/orders' } });
    const r = buildRestRequest(c, c.operations.get!, { id: 'a/b c', status: ['open', 'held'], limit: 10, skip: null });
    expect(r.method).toBe('GET');
    expect(r.url).toBe('https://api.example.com/v2/accounts/a%2Fb%20c/orders?status=open&status=held&limit=10');
    expect(r.body).toBeUndefined();
    expect(r.headers['content-type']).toBeUndefined();
  });

  test('a missing path field fails before any call', () => {
    const c = connector({ get: { method: 'GET', path: '/accounts/{id}' } });
    expect(() => buildRestRequest(c, c.operations.get!, { name: 'x' })).toThrow(
      expect.objectContaining({ code: 'INVALID_PAYLOAD' }),
    );
  });

  test.each(['.', '..', '%2e%2e', '%2E.', '.%2e', '%252e%252E', '%2e'])(
    'a path field %j (a dot segment, however encoded) is refused with INVALID_PAYLOAD',
    (value) => {
      const c = connector({ get: { method: 'GET', path: '/accounts/{id}/orders' } });
      expect(() => buildRestRequest(c, c.operations.get!, { id: value })).toThrow(
        expect.objectContaining({ code: 'INVALID_PAYLOAD' }),
      );
    },
  );

  test('values with dots that are not dot segments are fine', () => {
    const c = connector({ get: { method: 'GET', path: '/files/{name}' } });
    expect(buildRestRequest(c, c.operations.get!, { name: '...' }).url).toBe('https://api.example.com/v2/files/...');
    expect(buildRestRequest(c, c.operations.get!, { name: 'a..b' }).url).toBe('https://api.example.com/v2/files/a..b');
    expect(buildRestRequest(c, c.operations.get!, { name: '../x' }).url).toBe(
      'https://api.example.com/v2/files/..%2Fx',
    );
  });

  test('the built URL must stay under the baseUrl path', () => {
    const c = connector({ up: { method: 'GET', path: '/../admin' } });
    expect(() => buildRestRequest(c, c.operations.up!, {})).toThrow(
      expect.objectContaining({ code: 'INVALID_PAYLOAD' }),
    );
  });

  test('the request mapping feeds both the path and the body', () => {
    const c = connector({
      put: { method: 'PUT', path: '/accounts/{id}', request: '{id: recordId, name: payload.Name}' },
    });
    const r = buildRestRequest(c, c.operations.put!, { Name: 'Acme', Other: 1 }, '001X');
    expect(r.url).toBe('https://api.example.com/v2/accounts/001X');
    expect(r.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r.body!)).toEqual({ id: '001X', name: 'Acme' });
  });

  test('form bodies repeat array keys and skip nulls; nested values are JSON', () => {
    const c = connector({ post: { method: 'POST', path: '/f', contentType: 'form' } });
    const r = buildRestRequest(c, c.operations.post!, { a: 'x y', list: [1, 2], none: null, obj: { k: 1 } });
    expect(r.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(r.body).toBe('a=x+y&list=1&list=2&obj=%7B%22k%22%3A1%7D');
  });

  test('XML bodies use the root element, escape text and keep "@_" attributes', () => {
    const c = connector({ post: { method: 'POST', path: '/x', contentType: 'xml' } });
    const r = buildRestRequest(c, c.operations.post!, { item: { '@_id': '7', name: 'Fish & <Chips>' } });
    expect(r.headers['content-type']).toBe('application/xml');
    expect(r.body).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><request><item id="7"><name>Fish &amp; &lt;Chips&gt;</name></item></request>',
    );
  });
});
