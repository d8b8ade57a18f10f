import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The demo "external service" `npm start` runs beside the hub: it answers any
 * request with what it received, so the README's first callout has something
 * real to call. Credentials are reported as present or absent, never echoed.
 */
export async function startEchoServer(port = 0): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text || null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: echo the text
      }
      const { authorization, ...headers } = req.headers;
      const answer = {
        method: req.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body,
        authorization: authorization ? 'present' : 'absent',
        contentType: headers['content-type'] ?? null,
        receivedAt: new Date().toISOString(),
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  // A busy port rejects (npm start explains it) instead of an unhandled 'error' event crashing the process.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export function echoConnector(baseUrl: string) {
  return {
    connectorId: 'echo',
    type: 'rest' as const,
    description: 'Demo connector: a local service that answers with what it received',
    enabled: true,
    baseUrl,
    auth: { type: 'none' as const },
    timeoutMs: 5000,
    retry: { maxAttempts: 3, baseDelayMs: 200 },
    operations: {
      echo: { method: 'POST' as const, path: '/echo' },
      getThing: { method: 'GET' as const, path: '/things/{id}' },
    },
  };
}
