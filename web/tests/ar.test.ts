import { describe, expect, it } from 'vitest';
import { arOffer, exportAnswer, formatBytes } from '../src/lib/ar';

describe('exportAnswer', () => {
  it('follows the job a 202 names instead of showing its body', () => {
    expect(exportAnswer(202, { id: 'j1', status: 'queued' })).toEqual({ kind: 'running', jobId: 'j1' });
    expect(exportAnswer(202, { job: { id: 'j2' } })).toEqual({ kind: 'running', jobId: 'j2' });
  });
  it('takes a 200 as the file', () => {
    expect(exportAnswer(200, null)).toEqual({ kind: 'file' });
  });
  it('says what went wrong in words, not a raw 401 page', () => {
    expect(exportAnswer(401, { title: 'Unauthorized' })).toEqual({ kind: 'error', message: expect.stringContaining('Sign in') as unknown });
    expect(exportAnswer(404, { detail: 'No such scene.' })).toEqual({ kind: 'error', message: 'Could not export for AR: No such scene.' });
    expect(exportAnswer(500, 'boom').kind).toBe('error');
  });
});

describe('arOffer', () => {
  it('offers Quick Look on Apple devices, a download elsewhere', () => {
    expect(arOffer('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)', 5)).toBe('quick-look');
    expect(arOffer('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari', 5)).toBe('quick-look');
    expect(arOffer('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari', 0)).toBe('download');
    expect(arOffer('Mozilla/5.0 (X11; Linux x86_64) Chrome/140', 0)).toBe('download');
  });
});

describe('formatBytes', () => {
  it('prints sizes a person reads', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2048)).toBe('2.0 KB');
    expect(formatBytes(3.5 * 1024 * 1024)).toBe('3.5 MB');
  });
});
