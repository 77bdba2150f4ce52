/**
 * "View in AR": what the export endpoint's answer means, and how to offer the file. Pure.
 *
 * GET /scenes/{id}/export.usdz answers 202 {job} while the export job runs and 200 with the
 * file once it exists (docs/scenes.md "Exports"): a plain link showed the 202 body (or, on a
 * desktop without the token a link cannot carry, a raw 401 page) instead of a model.
 */
export type ExportAnswer =
  | { kind: 'file' }
  | { kind: 'running'; jobId: string }
  | { kind: 'error'; message: string };

export function exportAnswer(status: number, body: unknown): ExportAnswer {
  if (status === 200) return { kind: 'file' };
  const object = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  if (status === 202) {
    const job = object.job as Record<string, unknown> | undefined;
    const id = typeof job?.id === 'string' ? job.id : typeof object.id === 'string' ? object.id : null;
    return id ? { kind: 'running', jobId: id } : { kind: 'error', message: 'The server started an export but did not say which job.' };
  }
  if (status === 401) return { kind: 'error', message: 'Sign in (or open a share link) to export this scene for AR.' };
  const detail = typeof object.detail === 'string' ? object.detail : typeof object.title === 'string' ? object.title : null;
  return { kind: 'error', message: detail ? `Could not export for AR: ${detail}` : `Could not export for AR (HTTP ${status}).` };
}

/**
 * AR Quick Look opens a USDZ from a rel="ar" link on iPhone, iPad (which reports itself as
 * a Mac with touch) and Vision Pro; elsewhere the file is a download.
 */
export function arOffer(userAgent: string, maxTouchPoints: number): 'quick-look' | 'download' {
  if (/iPhone|iPad|iPod/.test(userAgent)) return 'quick-look';
  if (/Macintosh/.test(userAgent) && maxTouchPoints > 1) return 'quick-look';
  return 'download';
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
