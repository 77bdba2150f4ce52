/** RFC 9457 problem+json bodies turned into something a form can show. Pure. */

export interface Problem {
  status: number;
  title: string;
  detail: string | null;
  /** field name → message (the last path element of errors[].field) */
  fields: Record<string, string>;
}

export function parseProblem(status: number, body: unknown, fallback = 'Request failed'): Problem {
  const problem: Problem = { status, title: fallback, detail: null, fields: {} };
  if (typeof body !== 'object' || body === null) return problem;
  const b = body as Record<string, unknown>;
  if (typeof b.title === 'string') problem.title = b.title;
  if (typeof b.detail === 'string') problem.detail = b.detail;
  else if (typeof b.detail === 'object' && Array.isArray(b.detail)) problem.detail = null;
  const errors = Array.isArray(b.errors) ? b.errors : Array.isArray(b.detail) ? b.detail : [];
  for (const e of errors) {
    if (typeof e !== 'object' || e === null) continue;
    const item = e as Record<string, unknown>;
    const raw = item.field ?? item.loc;
    const field = Array.isArray(raw) ? String(raw[raw.length - 1]) : typeof raw === 'string' ? raw.split('.').pop() ?? raw : null;
    const message = typeof item.message === 'string' ? item.message : typeof item.msg === 'string' ? item.msg : null;
    if (field && message) problem.fields[field] = message;
  }
  return problem;
}

export function problemMessage(p: Problem): string {
  return p.detail ? `${p.title}: ${p.detail}` : p.title;
}
