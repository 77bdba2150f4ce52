import { describe, expect, it } from 'vitest';
import { isTerminal, jobChannel, parseJob, parseServerMessage, readinessChannel, subscribeMessage } from '../src/lib/protocol';

const job = { id: 'j1', kind: 'ingest', status: 'running', progress: 0.4, stage: 'reading', error_code: null, error_message: null };

describe('WebSocket protocol', () => {
  it('subscribes to a channel', () => {
    expect(JSON.parse(subscribeMessage(jobChannel('j1')))).toEqual({ type: 'subscribe', channel: 'job:j1' });
  });

  it('parses job progress frames', () => {
    expect(parseServerMessage(JSON.stringify({ type: 'job', job }))).toEqual({ type: 'job', job });
  });

  it('clamps progress and fills missing optional fields', () => {
    const parsed = parseServerMessage({ type: 'job', job: { id: 'j', status: 'failed', progress: 3, error_message: 'bad header' } });
    expect(parsed).toEqual({
      type: 'job',
      job: { id: 'j', kind: 'job', status: 'failed', progress: 1, stage: null, error_code: null, error_message: 'bad header' },
    });
  });

  it('parses errors in either shape', () => {
    expect(parseServerMessage('{"type":"error","code":"forbidden","message":"no","channel":"job:x"}')).toEqual({
      type: 'error', code: 'forbidden', message: 'no', channel: 'job:x',
    });
    expect(parseServerMessage('{"type":"error","detail":"Too big"}')).toMatchObject({ message: 'Too big', code: null });
  });

  it('parses scene updates', () => {
    expect(parseServerMessage({ type: 'scene', scene: { id: 's', status: 'ready' } })).toMatchObject({ type: 'scene' });
  });

  it('tolerates unknown, malformed and non-JSON frames', () => {
    expect(parseServerMessage('{"type":"presence","users":[]}').type).toBe('unknown');
    expect(parseServerMessage('not json').type).toBe('unknown');
    expect(parseServerMessage('[1,2]').type).toBe('unknown');
    expect(parseServerMessage({ type: 'job', job: { id: 'x', status: 'exploded' } }).type).toBe('unknown');
    expect(parseServerMessage({ type: 'job' }).type).toBe('unknown');
    expect(parseServerMessage(null).type).toBe('unknown');
  });

  it('knows which states are final', () => {
    expect(['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => isTerminal(s as never))).toEqual([
      false, false, true, true, true,
    ]);
    expect(parseJob({ id: 1, status: 'queued' })).toBeNull();
  });

  it('keeps the attempt a job state is from', () => {
    expect(parseJob({ id: 'j', status: 'running', progress: 0.4, attempts: 2 })?.attempts).toBe(2);
    expect(parseJob({ id: 'j', status: 'running' })).not.toHaveProperty('attempts');
  });
});

describe('readinessChannel', () => {
  it("follows a tiling scene's job (the server has no scene channel)", () => {
    expect(readinessChannel({ status: 'tiling', job_id: 'j1' })).toBe('job:j1');
    expect(readinessChannel({ status: 'pending', job_id: 'j2' })).toBe('job:j2');
  });
  it('has nothing to follow once the scene is final or without a job', () => {
    expect(readinessChannel({ status: 'ready', job_id: 'j1' })).toBeNull();
    expect(readinessChannel({ status: 'failed', job_id: 'j1' })).toBeNull();
    expect(readinessChannel({ status: 'tiling', job_id: null })).toBeNull();
  });
});
