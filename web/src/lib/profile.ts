/**
 * A height profile along a polyline: every point within a corridor (half its width either side
 * of the line, measured horizontally) becomes a sample (distance along the line, height), and
 * samples are binned along the line for a summary. Measuring frame: metres, z up. Pure.
 */
import type { P3 } from './measure';

export interface ProfileSample {
  along: number;
  height: number;
  /** horizontal distance from the line (0 on it) */
  offset: number;
}

/** A prepared polyline: per segment its start, unit direction, length and distance along so far. */
export interface ProfileLine {
  segments: { x: number; y: number; dx: number; dy: number; length: number; start: number }[];
  length: number;
}

export function profileLine(points: readonly P3[]): ProfileLine {
  const segments: ProfileLine['segments'] = [];
  let start = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (length === 0) continue; // a repeated point adds nothing
    segments.push({ x: a[0], y: a[1], dx: (b[0] - a[0]) / length, dy: (b[1] - a[1]) / length, length, start });
    start += length;
  }
  return { segments, length: start };
}

/**
 * Where (x, y) falls along the line if it is inside the corridor: the nearest segment it
 * projects onto wins (at a bend a point can lie beside two). Null outside.
 */
export function projectOnLine(line: ProfileLine, x: number, y: number, halfWidth: number): { along: number; offset: number } | null {
  let best: { along: number; offset: number } | null = null;
  for (const s of line.segments) {
    const rx = x - s.x;
    const ry = y - s.y;
    const t = rx * s.dx + ry * s.dy;
    if (t < 0 || t > s.length) continue;
    const offset = Math.abs(rx * s.dy - ry * s.dx);
    if (offset <= halfWidth && (!best || offset < best.offset)) best = { along: s.start + t, offset };
  }
  return best;
}

/** Collects the samples of `points` (x, y, z triples, measuring frame) inside the corridor. */
export function collectProfile(line: ProfileLine, halfWidth: number, points: Iterable<P3>, limit = Infinity): ProfileSample[] {
  const out: ProfileSample[] = [];
  for (const p of points) {
    const hit = projectOnLine(line, p[0], p[1], halfWidth);
    if (hit) {
      out.push({ along: hit.along, height: p[2], offset: hit.offset });
      if (out.length >= limit) break;
    }
  }
  return out;
}

export interface ProfileBin {
  from: number;
  to: number;
  count: number;
  min: number;
  max: number;
  mean: number;
}

/** `bins` equal bins over [0, length]: count, min, max and mean height of each (NaN when empty). */
export function binProfile(samples: readonly ProfileSample[], length: number, bins: number): ProfileBin[] {
  const n = Math.max(1, Math.floor(bins));
  const width = length > 0 ? length / n : 1;
  const out: ProfileBin[] = Array.from({ length: n }, (_, i) => ({ from: i * width, to: (i + 1) * width, count: 0, min: Infinity, max: -Infinity, mean: 0 }));
  for (const s of samples) {
    const i = Math.min(n - 1, Math.max(0, Math.floor(s.along / width)));
    const b = out[i]!;
    b.count++;
    b.min = Math.min(b.min, s.height);
    b.max = Math.max(b.max, s.height);
    b.mean += s.height;
  }
  for (const b of out) {
    if (b.count) b.mean /= b.count;
    else b.min = b.max = b.mean = Number.NaN;
  }
  return out;
}

/** At most `limit` samples, evenly strided, so a plot of millions stays quick. */
export function thin<T>(samples: readonly T[], limit: number): T[] {
  if (samples.length <= limit) return [...samples];
  const stride = samples.length / limit;
  const out: T[] = [];
  for (let i = 0; i < limit; i++) out.push(samples[Math.floor(i * stride)]!);
  return out;
}
