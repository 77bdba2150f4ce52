/** How the pick and box panels print a value. Pure. */

/**
 * Integers in full with separators; other numbers to the microsecond above 1 (GPS time,
 * ~3e8 s, keeps its 6 decimals: 7 significant digits showed it to the 100 s) and to 7
 * significant digits below; text as is; null as a dash.
 */
export function formatValue(v: unknown): string {
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    return String(Math.abs(v) >= 1 ? Number(v.toFixed(6)) : Number(v.toPrecision(7)));
  }
  if (typeof v === 'bigint') return v.toLocaleString('en-US');
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v) ?? typeof v;
}
