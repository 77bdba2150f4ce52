/**
 * live.ts: a job followed over HTTP polling (a real loopback server) when there is no socket,
 * and the socket's subscriptions through a scripted WebSocket (Node 20 has none).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { installBrowserGlobals } from './browserglobals';
import { startServer, type TestServer } from './apiserver';

type Live = typeof import('../src/live');

let server: TestServer;

async function loadLive(signedIn = true): Promise<Live> {
  if (signedIn) localStorage.setItem('spatialviz.tokens', JSON.stringify({ access_token: 'a b', refresh_token: 'r' }));
  vi.resetModules();
  return import('../src/live');
}

const job = (status: string, progress: number) => ({
  id: 'j1', kind: 'tiling', status, progress, stage: null, error_code: null, error_message: null,
});

/** A WebSocket the test drives: it opens, delivers frames and closes when told to. */
class ScriptedSocket {
  static readonly OPEN = 1;
  static all: ScriptedSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly url: string) {
    ScriptedSocket.all.push(this);
  }
  send(data: string): void {
    this.sent.push(data);
  }
  open(): void {
    this.readyState = ScriptedSocket.OPEN;
    this.onopen?.();
  }
  deliver(message: object): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(): void {
    this.readyState = 3;
    this.onclose?.();
  }
}

beforeEach(async () => {
  server = await startServer(() => ({ json: {} }));
  installBrowserGlobals(server.origin);
  ScriptedSocket.all = [];
});

afterEach(async () => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  await server.close();
});

describe('watchJob without a socket', () => {
  it('polls the job until it is final and resolves with it', async () => {
    const states = [job('queued', 0), job('running', 0.5), job('succeeded', 1)];
    let polls = 0;
    server.route = (r) => (r.path === '/api/v1/jobs/j1' ? { json: states[Math.min(polls++, 2)] } : { status: 404, json: {} });
    const live = await loadLive();
    const seen: string[] = [];
    const final = await live.watchJob('j1', (j) => seen.push(j.status), 1);
    expect(final.status).toBe('succeeded');
    expect(seen).toEqual(['queued', 'running', 'succeeded']);
    expect(server.received.every((r) => r.headers.authorization === 'Bearer a b')).toBe(true);
    expect(server.received).toHaveLength(3);
  });

  it('never shows a running job going back within one attempt (a stale answer); a new attempt starts again', async () => {
    const run = (attempts: number, status: string, progress: number) => ({ ...job(status, progress), attempts });
    const states = [run(1, 'running', 0.5), run(1, 'running', 0.3), run(2, 'running', 0.2), run(2, 'succeeded', 1)];
    server.route = () => ({ json: states.shift() ?? run(2, 'succeeded', 1) });
    const live = await loadLive();
    const seen: number[] = [];
    await live.watchJob('j1', (j) => seen.push(j.progress), 1);
    expect(seen).toEqual([0.5, 0.2, 1]);
  });

  it('keeps polling through a transient error', async () => {
    const answers = [{ status: 503, json: { title: 'Busy' } }, { json: job('failed', 0.2) }];
    server.route = () => answers.shift() ?? { status: 500, json: {} };
    const live = await loadLive();
    expect((await live.watchJob('j1', () => undefined, 1)).status).toBe('failed');
  });
});

describe('the socket', () => {
  it('connects with the token, subscribes on open, and routes frames by channel', async () => {
    vi.stubGlobal('WebSocket', ScriptedSocket);
    const live = await loadLive();
    const onJob = vi.fn();
    const onOther = vi.fn();
    live.subscribe('job:j1', onJob);
    live.subscribe('job:j2', onOther);
    expect(ScriptedSocket.all).toHaveLength(1);
    const ws = ScriptedSocket.all[0]!;
    expect(ws.url).toBe(`ws://${new URL(server.origin).host}/api/v1/ws?token=a%20b`);
    ws.open();
    expect(live.socketState()).toBe('open');
    expect(ws.sent.map((m) => JSON.parse(m) as unknown)).toEqual([
      { type: 'subscribe', channel: 'job:j1' },
      { type: 'subscribe', channel: 'job:j2' },
    ]);
    ws.deliver({ type: 'job', job: job('running', 0.3) });
    expect(onJob).toHaveBeenCalledWith({ type: 'job', job: expect.objectContaining({ id: 'j1', progress: 0.3 }) as unknown });
    expect(onOther).not.toHaveBeenCalled();
    // An error that names no channel concerns every subscriber.
    ws.deliver({ type: 'error', code: 'auth', message: 'expired', channel: null });
    expect(onOther).toHaveBeenCalledTimes(1);
    // A channel added while open is subscribed at once.
    live.subscribe('job:j3', () => undefined);
    expect(JSON.parse(ws.sent.at(-1) ?? '') as unknown).toEqual({ type: 'subscribe', channel: 'job:j3' });
  });

  it('reconnects after a drop with back-off and subscribes again; not once nothing is watched', async () => {
    vi.useFakeTimers();
    vi.stubGlobal('WebSocket', ScriptedSocket);
    const live = await loadLive();
    const unsubscribe = live.subscribe('job:j1', () => undefined);
    ScriptedSocket.all[0]!.open();
    ScriptedSocket.all[0]!.drop();
    expect(live.socketState()).toBe('closed');
    vi.advanceTimersByTime(500);
    expect(ScriptedSocket.all).toHaveLength(2);
    ScriptedSocket.all[1]!.open();
    expect(ScriptedSocket.all[1]!.sent).toEqual([JSON.stringify({ type: 'subscribe', channel: 'job:j1' })]);
    unsubscribe();
    ScriptedSocket.all[1]!.drop();
    vi.advanceTimersByTime(60_000);
    expect(ScriptedSocket.all).toHaveLength(2);
  });

  it('does not connect when signed out', async () => {
    vi.stubGlobal('WebSocket', ScriptedSocket);
    const live = await loadLive(false);
    live.subscribe('job:j1', () => undefined);
    expect(ScriptedSocket.all).toHaveLength(0);
  });
});
