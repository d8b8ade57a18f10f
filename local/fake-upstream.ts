import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A programmable HTTP server on 127.0.0.1 standing in for an external service.
 * Tests register answers per "METHOD /path" (path without query); every call is
 * recorded, and the number of requests in flight is tracked.
 */
export interface RecordedCall {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: string;
  json?: unknown;
  at: number;
}

export interface FakeAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** Sent as JSON unless `text` is given. */
  json?: unknown;
  text?: string;
  delayMs?: number;
  /** Destroy the socket without answering (a network error for the client). */
  hangUp?: boolean;
}

export type FakeHandler = (call: RecordedCall, nth: number) => FakeAnswer | Promise<FakeAnswer>;

export interface FakeUpstream {
  url: string;
  route(key: string, handler: FakeHandler | FakeAnswer): void;
  calls(key?: string): RecordedCall[];
  inFlight: number;
  maxInFlight: number;
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const routes = new Map<string, FakeHandler>();
  const recorded: Array<RecordedCall & { key: string }> = [];
  const state = { inFlight: 0, maxInFlight: 0 };
  const server: Server = createServer((req, res) => {
    state.inFlight += 1;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    const respond = async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const key = `${req.method} ${url.pathname}`;
      const call: RecordedCall = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body,
        json,
        at: Date.now(),
      };
      const nth = recorded.filter((c) => c.key === key).length + 1;
      recorded.push({ ...call, key });
      const handler = routes.get(key);
      const answer: FakeAnswer = handler
        ? await handler(call, nth)
        : { status: 404, json: { message: `no fake route ${key}` } };
      if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
      state.inFlight -= 1;
      if (answer.hangUp) {
        req.socket.destroy();
        return;
      }
      const isText = answer.text !== undefined;
      res.writeHead(answer.status ?? 200, {
        'content-type': isText ? 'text/plain' : 'application/json',
        ...answer.headers,
      });
      res.end(isText ? answer.text : answer.json === undefined ? '' : JSON.stringify(answer.json));
    };
    // A route that throws answers 500 with its message, visible to the test, instead of an unhandled rejection.
    req.on('end', () => {
      respond().catch((err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    route(key, handler) {
      routes.set(key, typeof handler === 'function' ? handler : () => handler);
    },
    calls(key) {
      return key ? recorded.filter((c) => c.key === key) : [...recorded];
    },
    get inFlight() {
      return state.inFlight;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    reset() {
      recorded.length = 0;
      state.maxInFlight = 0;
    },
    close() {
      return new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}
