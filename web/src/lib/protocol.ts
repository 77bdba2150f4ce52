/** The WebSocket protocol of /api/v1/ws as the client speaks it. Pure. */
import type { Job, JobStatus } from './types';

export type ServerMessage =
  | { type: 'job'; job: Job }
  | { type: 'scene'; scene: { id: string; status: string } & Record<string, unknown> }
  | { type: 'error'; code: string | null; message: string; channel: string | null }
  | { type: 'subscribed'; channel: string }
  | { type: 'unknown'; raw: unknown };

const STATUSES: readonly JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

export function subscribeMessage(channel: string): string {
  return JSON.stringify({ type: 'subscribe', channel });
}

export function unsubscribeMessage(channel: string): string {
  return JSON.stringify({ type: 'unsubscribe', channel });
}

export function jobChannel(jobId: string): string {
  return `job:${jobId}`;
}

/**
 * The channel that says when a scene still tiling is ready: its tiling job's. The server has
 * no `scene:<id>` channel (realtime/channels.py); the job's final `succeeded` (or `failed`)
 * is the moment the scene's status changes. null: nothing to follow.
 */
export function readinessChannel(scene: { status: string; job_id?: string | null }): string | null {
  if (scene.status === 'ready' || scene.status === 'failed' || !scene.job_id) return null;
  return jobChannel(scene.job_id);
}

export function isTerminal(status: JobStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}

/** Parses one text frame. Never throws: anything it does not understand is `unknown`. */
export function parseServerMessage(data: unknown): ServerMessage {
  let value: unknown = data;
  if (typeof data === 'string') {
    try {
      value = JSON.parse(data);
    } catch {
      return { type: 'unknown', raw: data };
    }
  }
  if (!isObject(value) || typeof value.type !== 'string') return { type: 'unknown', raw: value };
  switch (value.type) {
    case 'job': {
      const job = parseJob(value.job);
      return job ? { type: 'job', job } : { type: 'unknown', raw: value };
    }
    case 'scene': {
      const scene = value.scene;
      if (isObject(scene) && typeof scene.id === 'string' && typeof scene.status === 'string') {
        return { type: 'scene', scene: scene as { id: string; status: string } };
      }
      return { type: 'unknown', raw: value };
    }
    case 'error':
      return {
        type: 'error',
        code: str(value.code) ?? str(value.error_code),
        message: str(value.message) ?? str(value.detail) ?? str(value.title) ?? 'Unknown error',
        channel: str(value.channel),
      };
    case 'subscribed':
      return typeof value.channel === 'string'
        ? { type: 'subscribed', channel: value.channel }
        : { type: 'unknown', raw: value };
    default:
      return { type: 'unknown', raw: value };
  }
}

/** A job object as GET /api/v1/jobs/{id} returns it, or null when malformed. */
export function parseJob(value: unknown): Job | null {
  if (!isObject(value) || typeof value.id !== 'string') return null;
  const status = value.status;
  if (typeof status !== 'string' || !STATUSES.includes(status as JobStatus)) return null;
  const progress = typeof value.progress === 'number' && Number.isFinite(value.progress) ? value.progress : 0;
  return {
    id: value.id,
    kind: str(value.kind) ?? 'job',
    status: status as JobStatus,
    progress: Math.min(1, Math.max(0, progress)),
    stage: str(value.stage),
    error_code: str(value.error_code),
    error_message: str(value.error_message),
    ...(typeof value.attempts === 'number' ? { attempts: value.attempts } : {}),
  };
}

/**
 * Whether a job state is newer than the one shown. A watched job's states come from the
 * socket and from polling, so a poll answered just before a socket frame can arrive after
 * it: within one attempt a running job's progress never goes down on the server, so a lower
 * one is such a stale state and the bar must not step back to it.
 */
export function isNewerJobState(shown: Job | null, next: Job): boolean {
  if (shown === null || isTerminal(next.status)) return true;
  const sameRun = shown.attempts !== undefined && shown.attempts === next.attempts;
  return !(sameRun && shown.status === 'running' && next.status === 'running' && next.progress < shown.progress);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
