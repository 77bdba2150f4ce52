/**
 * One WebSocket to /api/v1/ws for the whole page: subscriptions survive reconnects, and a
 * watched job is also polled slowly over HTTP so progress still arrives without a socket.
 */
import { accessToken, getJob, getShareToken } from './api';
import { isNewerJobState, isTerminal, jobChannel, parseServerMessage, subscribeMessage, type ServerMessage } from './lib/protocol';
import type { Job } from './lib/types';

type Handler = (message: ServerMessage) => void;

const handlers = new Map<string, Set<Handler>>();
let socket: WebSocket | null = null;
let attempts = 0;
let state: 'closed' | 'connecting' | 'open' = 'closed';

export function socketState(): string {
  return state;
}

/** Signed in: the bearer token. Through a share link: the link, which follows its own scene's notes read-only. */
function url(): string | null {
  const token = accessToken();
  const share = token ? null : getShareToken();
  if (!token && !share) return null;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const credential = token ? `token=${encodeURIComponent(token)}` : `share=${encodeURIComponent(share!)}`;
  return `${proto}//${location.host}/api/v1/ws?${credential}`;
}

function connect(): void {
  if (socket || typeof WebSocket === 'undefined') return;
  const target = url();
  if (!target) return;
  state = 'connecting';
  const ws = new WebSocket(target);
  socket = ws;
  ws.onopen = () => {
    state = 'open';
    attempts = 0;
    for (const channel of handlers.keys()) ws.send(subscribeMessage(channel));
  };
  ws.onmessage = (event) => dispatch(parseServerMessage(event.data));
  ws.onclose = () => {
    socket = null;
    state = 'closed';
    if (handlers.size === 0) return;
    const delay = Math.min(30_000, 500 * 2 ** attempts++);
    setTimeout(connect, delay);
  };
}

function channelOf(message: ServerMessage): string | null {
  if (message.type === 'job') return jobChannel(message.job.id);
  if (message.type === 'error') return message.channel;
  // Other channels' messages name their channel (annotations:<scene_id>, …).
  if (message.type === 'unknown' && typeof message.raw === 'object' && message.raw !== null) {
    const channel = (message.raw as { channel?: unknown }).channel;
    if (typeof channel === 'string') return channel;
  }
  return null;
}

function dispatch(message: ServerMessage): void {
  const channel = channelOf(message);
  if (channel) handlers.get(channel)?.forEach((h) => h(message));
  else if (message.type === 'error') handlers.forEach((set) => set.forEach((h) => h(message)));
}

export function subscribe(channel: string, handler: Handler): () => void {
  let set = handlers.get(channel);
  if (!set) {
    set = new Set();
    handlers.set(channel, set);
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(subscribeMessage(channel));
  }
  set.add(handler);
  connect();
  return () => {
    set.delete(handler);
    if (set.size === 0) handlers.delete(channel);
  };
}

/** Calls onUpdate with each new state of the job until it is final; resolves with the final job. */
export function watchJob(jobId: string, onUpdate: (job: Job) => void, pollMs = 3000): Promise<Job> {
  return new Promise((resolve) => {
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let shown: Job | null = null;
    const seen = (job: Job) => {
      if (done || !isNewerJobState(shown, job)) return;
      shown = job;
      onUpdate(job);
      if (isTerminal(job.status)) {
        done = true;
        unsubscribe();
        clearTimeout(timer);
        resolve(job);
      }
    };
    const unsubscribe = subscribe(jobChannel(jobId), (m) => {
      if (m.type === 'job') seen(m.job);
    });
    const poll = async () => {
      if (done) return;
      try {
        seen(await getJob(jobId));
      } catch {
        // A transient error; the next poll or a socket frame will catch up.
      }
      if (!done) timer = setTimeout(() => void poll(), state === 'open' ? pollMs * 3 : pollMs);
    };
    void poll();
  });
}
