/** api.ts against a real loopback HTTP server through the real fetch. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { installBrowserGlobals } from './browserglobals';
import { startServer, type Received, type TestServer } from './apiserver';

type Api = typeof import('../src/api');

const PAIR = { access_token: 'a1', refresh_token: 'r1', token_type: 'bearer', expires_in: 900 };
let server: TestServer;
let storage: Storage;

/** A fresh api.ts (its tokens are read from localStorage when the module loads). */
async function loadApi(tokens: object | null = PAIR): Promise<Api> {
  if (tokens) storage.setItem('spatialviz.tokens', JSON.stringify(tokens));
  vi.resetModules();
  return import('../src/api');
}

const bearer = (r: Received) => r.headers.authorization ?? null;

beforeEach(async () => {
  server = await startServer(() => ({ json: {} }));
  storage = installBrowserGlobals(server.origin);
});

afterEach(async () => {
  await server.close();
});

describe('request', () => {
  it('sends the bearer token, JSON bodies and the query without empty values', async () => {
    const api = await loadApi();
    server.route = () => ({ status: 201, json: { id: 's1' } });
    const answer = await api.request<{ id: string }>('POST', 'scenes', { json: { a: 1 }, query: { x: 2, y: null, z: undefined } });
    expect(answer).toEqual({ id: 's1' });
    const [got] = server.received;
    expect(got?.path).toBe('/api/v1/scenes');
    expect(got && bearer(got)).toBe('Bearer a1');
    expect(got?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(got?.body ?? '')).toEqual({ a: 1 });
    expect([...(got?.query.entries() ?? [])]).toEqual([['x', '2']]);
  });

  it('sends no Authorization header when signed out or when told not to', async () => {
    const api = await loadApi(null);
    await api.request('GET', '/api/v1/health');
    const signedIn = await loadApi();
    await signedIn.request('GET', '/api/v1/health', { auth: false });
    expect(server.received.map(bearer)).toEqual([null, null]);
  });

  it('turns a problem+json answer into an ApiError with its title and detail', async () => {
    const api = await loadApi();
    server.route = () => ({ status: 404, json: { title: 'Not Found', detail: 'No such scene.', status: 404 }, contentType: 'application/problem+json' });
    const error = await api.request('GET', 'scenes/x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(api.ApiError);
    expect((error as InstanceType<Api['ApiError']>).problem.status).toBe(404);
    expect((error as Error).message).toBe('Not Found: No such scene.');
  });

  it('returns a body that is not JSON as text', async () => {
    const api = await loadApi();
    server.route = () => ({ text: 'plain words' });
    expect(await api.request('GET', 'x')).toBe('plain words');
  });

  it('adds the share token to every request in share-link mode, unless the path has one', async () => {
    const api = await loadApi(null);
    api.setShareToken('sh1');
    await api.getScene('s1');
    await api.request('GET', '/api/v1/scenes/s1/tileset.json?share=other');
    expect(server.received.map((r) => r.query.get('share'))).toEqual(['sh1', 'other']);
    expect(api.usdzUrl('s1')).toBe('/api/v1/scenes/s1/export.usdz?share=sh1');
  });
});

describe('refresh on 401', () => {
  it('refreshes once, stores the new pair and repeats the request with it', async () => {
    const api = await loadApi();
    server.route = (r) => {
      if (r.path === '/api/v1/auth/refresh') return { json: { ...PAIR, access_token: 'a2', refresh_token: 'r2' } };
      return bearer(r) === 'Bearer a2' ? { json: { ok: true } } : { status: 401, json: { title: 'Unauthorized' } };
    };
    expect(await api.request('GET', 'me')).toEqual({ ok: true });
    const refreshes = server.received.filter((r) => r.path === '/api/v1/auth/refresh');
    expect(refreshes.map((r) => JSON.parse(r.body) as unknown)).toEqual([{ refresh_token: 'r1' }]);
    expect(refreshes[0] && bearer(refreshes[0])).toBeNull();
    expect(JSON.parse(storage.getItem('spatialviz.tokens') ?? 'null')).toMatchObject({ access_token: 'a2', refresh_token: 'r2' });
    expect(api.accessToken()).toBe('a2');
  });

  it('runs one refresh at a time: callers during a refresh share it', async () => {
    const api = await loadApi();
    server.route = () => ({ json: { ...PAIR, access_token: 'a2', refresh_token: 'r2' } });
    const first = api.refresh();
    const second = api.refresh();
    expect(second).toBe(first);
    expect(await Promise.all([first, second])).toEqual([true, true]);
    expect(server.received.map((r) => r.path)).toEqual(['/api/v1/auth/refresh']);
    // Once it ended, the next refresh is a new one (with the rotated refresh token).
    await api.refresh();
    expect(server.received.map((r) => JSON.parse(r.body) as unknown)).toEqual([{ refresh_token: 'r1' }, { refresh_token: 'r2' }]);
  });

  it('signs out when the refresh is refused, and the caller gets the 401', async () => {
    const api = await loadApi();
    const changes = vi.fn();
    api.onAuthChange(changes);
    server.route = () => ({ status: 401, json: { title: 'Unauthorized', detail: 'Token expired.' } });
    const error = await api.request('GET', 'me').catch((e: unknown) => e);
    expect((error as Error).message).toBe('Unauthorized: Token expired.');
    expect(api.isSignedIn()).toBe(false);
    expect(storage.getItem('spatialviz.tokens')).toBeNull();
    expect(changes).toHaveBeenCalled();
    // Not retried after the refresh failed: the original, the refresh, nothing else.
    expect(server.received.map((r) => r.path)).toEqual(['/api/v1/me', '/api/v1/auth/refresh']);
  });
});

describe('sign in and out', () => {
  it('signs in with the OAuth2 password form and keeps the pair', async () => {
    const api = await loadApi(null);
    server.route = () => ({ json: PAIR });
    await api.signIn('u@example.org', 'pw 1&2');
    const [got] = server.received;
    expect(got?.headers['content-type']).toContain('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(got?.body))).toEqual({ username: 'u@example.org', password: 'pw 1&2', grant_type: 'password' });
    expect(api.isSignedIn()).toBe(true);
  });

  it('signs out locally even when the server cannot be told', async () => {
    const api = await loadApi();
    server.route = () => ({ status: 503, json: { title: 'Service Unavailable' } });
    await api.signOut();
    expect(api.isSignedIn()).toBe(false);
    expect(server.received.map((r) => r.path)).toEqual(['/api/v1/auth/logout']);
  });
});
