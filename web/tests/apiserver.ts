/**
 * A real HTTP server on a loopback port for the api.ts and live.ts tests: each test says how
 * it answers, and every request it got (method, path, headers, body) is kept, so the tests
 * check what the client really put on the wire through the real fetch.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Reply {
  status?: number;
  json?: unknown;
  text?: string;
  contentType?: string;
}

export type Route = (request: Received) => Reply;

export interface TestServer {
  origin: string;
  received: Received[];
  route: Route;
  close(): Promise<void>;
}

export async function startServer(route: Route): Promise<TestServer> {
  const received: Received[] = [];
  const state: TestServer = { origin: '', received, route, close: () => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const got: Received = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(got);
      const reply = state.route(got);
      const body = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.text ?? '');
      res.writeHead(reply.status ?? 200, {
        'Content-Type': reply.contentType ?? (reply.json !== undefined ? 'application/json' : 'text/plain'),
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.origin = `http://127.0.0.1:${port}`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}
