/**
 * Measurement geometry and the measuring state machine (pure, no three.js).
 *
 * Points are in the measuring frame: the scene's own metres, z up (the dataset's x/y/z minus
 * the tileset's centre, or east-north-up metres for a georeferenced scene). A translation
 * does not change a distance, so the centre never needs adding back.
 */
export type P3 = readonly [number, number, number];

export type MeasureKind = 'distance' | 'area' | 'height' | 'angle';

export const MEASURE_KINDS: readonly MeasureKind[] = ['distance', 'area', 'height', 'angle'];

/** How many points each kind needs before it is complete on its own (null: the user ends it). */
const FIXED_POINTS: Record<MeasureKind, number | null> = { distance: null, area: null, height: 2, angle: 3 };
/** The fewest points that make a measurement at all. */
const MIN_POINTS: Record<MeasureKind, number> = { distance: 2, area: 3, height: 2, angle: 3 };

export function minPoints(kind: MeasureKind): number {
  return MIN_POINTS[kind];
}

export function fixedPoints(kind: MeasureKind): number | null {
  return FIXED_POINTS[kind];
}

export function distance(a: P3, b: P3): number {
  return Math.hypot(b[0] - a[0], b[1] - a[1], b[2] - a[2]);
}

/** Each segment's length of an open polyline, and their sum. */
export function polylineLengths(points: readonly P3[]): { segments: number[]; total: number } {
  const segments: number[] = [];
  for (let i = 1; i < points.length; i++) segments.push(distance(points[i - 1]!, points[i]!));
  return { segments, total: segments.reduce((s, d) => s + d, 0) };
}

/**
 * The area of the polygon's outline projected on the horizontal plane (shoelace formula: right
 * for non-convex outlines too; a self-crossing one counts its lobes against each other), as
 * surveyors and Potree report a parcel's area.
 */
export function horizontalArea(points: readonly P3[]): number {
  let twice = 0;
  const n = points.length;
  if (n < 3) return 0;
  // Relative to the first vertex: big map coordinates lose no precision in the products.
  const [x0, y0] = points[0]!;
  for (let i = 0; i < n; i++) {
    const a = points[i]!;
    const b = points[(i + 1) % n]!;
    twice += (a[0] - x0) * (b[1] - y0) - (b[0] - x0) * (a[1] - y0);
  }
  return Math.abs(twice) / 2;
}

/** The perimeter of a closed polygon. */
export function perimeter(points: readonly P3[]): number {
  if (points.length < 2) return 0;
  return polylineLengths([...points, points[0]!]).total;
}

/** Vertical difference b − a (positive when b is higher), and the horizontal and slope distances. */
export function heightDifference(a: P3, b: P3): { dz: number; horizontal: number; slope: number } {
  return { dz: b[2] - a[2], horizontal: Math.hypot(b[0] - a[0], b[1] - a[1]), slope: distance(a, b) };
}

/** The angle at `vertex` between the rays to `a` and `b`, in degrees (0..180); NaN when a ray has no length. */
export function angleAt(a: P3, vertex: P3, b: P3): number {
  const u = [a[0] - vertex[0], a[1] - vertex[1], a[2] - vertex[2]];
  const v = [b[0] - vertex[0], b[1] - vertex[1], b[2] - vertex[2]];
  const nu = Math.hypot(u[0]!, u[1]!, u[2]!);
  const nv = Math.hypot(v[0]!, v[1]!, v[2]!);
  if (nu === 0 || nv === 0) return Number.NaN;
  // atan2 of |u×v| and u·v: accurate near 0° and 180°, where acos of the dot product is not.
  const cx = u[1]! * v[2]! - u[2]! * v[1]!;
  const cy = u[2]! * v[0]! - u[0]! * v[2]!;
  const cz = u[0]! * v[1]! - u[1]! * v[0]!;
  const dot = u[0]! * v[0]! + u[1]! * v[1]! + u[2]! * v[2]!;
  return (Math.atan2(Math.hypot(cx, cy, cz), dot) * 180) / Math.PI;
}

/** What a measurement reports, for the panel and for tests. */
export interface MeasureValues {
  /** the headline value in `unit` (m, m², °) */
  value: number;
  unit: 'm' | 'm²' | '°';
  /** secondary figures (segment lengths, perimeter, horizontal/slope distance) */
  details: { label: string; value: number; unit: 'm' | 'm²' | '°' }[];
}

export function measureValues(kind: MeasureKind, points: readonly P3[]): MeasureValues | null {
  if (points.length < MIN_POINTS[kind]) return null;
  switch (kind) {
    case 'distance': {
      const { segments, total } = polylineLengths(points);
      return { value: total, unit: 'm', details: segments.length > 1 ? segments.map((s, i) => ({ label: `segment ${i + 1}`, value: s, unit: 'm' as const })) : [] };
    }
    case 'area':
      return { value: horizontalArea(points), unit: 'm²', details: [{ label: 'perimeter', value: perimeter(points), unit: 'm' }] };
    case 'height': {
      const h = heightDifference(points[0]!, points[1]!);
      return { value: h.dz, unit: 'm', details: [{ label: 'horizontal', value: h.horizontal, unit: 'm' }, { label: 'slope distance', value: h.slope, unit: 'm' }] };
    }
    case 'angle':
      return { value: angleAt(points[0]!, points[1]!, points[2]!), unit: '°', details: [] };
  }
}

/**
 * Snapping to points already placed: a new point within `tolerance` of one (in the measuring
 * frame) becomes that point exactly, so a polygon closes on its first vertex and measurements
 * can share corners. Returns the snapped-to point, or null.
 */
export function snapToPlaced(candidate: P3, placed: readonly P3[], tolerance: number): P3 | null {
  let best: P3 | null = null;
  let bestD = tolerance;
  for (const p of placed) {
    const d = distance(candidate, p);
    if (d <= bestD) {
      best = p;
      bestD = d;
    }
  }
  return best;
}

export interface Measurement {
  id: number;
  kind: MeasureKind;
  points: P3[];
  /** the dataset row each point was snapped to, when known (null: a placed point or none) */
  rows: (number | null)[];
}

export type MeasureEvent =
  | { type: 'start'; kind: MeasureKind }
  | { type: 'point'; point: P3; row?: number | null }
  | { type: 'finish' }
  | { type: 'cancel' }
  | { type: 'undo' }
  | { type: 'remove'; id: number }
  | { type: 'clear' };

export interface MeasureState {
  /** the measurement being placed, if any */
  active: Measurement | null;
  done: Measurement[];
  nextId: number;
}

export const EMPTY_MEASURES: MeasureState = { active: null, done: [], nextId: 1 };

/**
 * The measuring state machine: `start` a kind, add `point`s (a kind with a fixed count ends by
 * itself; distance and area end on `finish`, when an area's point lands on its first
 * vertex, or when a point lands on the last one again), `cancel` drops what is being placed (Esc), `undo` removes its last point, `remove`
 * deletes a finished one. Pure: returns a new state.
 */
export function measureReducer(state: MeasureState, event: MeasureEvent): MeasureState {
  switch (event.type) {
    case 'start':
      return { ...state, active: { id: state.nextId, kind: event.kind, points: [], rows: [] }, nextId: state.nextId + 1 };
    case 'point': {
      const active = state.active;
      if (!active) return state;
      const first = active.points[0];
      // An area closed on its first vertex is complete (snapping makes the point identical).
      if (active.kind === 'area' && first && active.points.length >= 3 && distance(first, event.point) === 0) {
        return { ...state, active: null, done: [...state.done, active] };
      }
      // The last point picked again ends a line or polygon (a pinch has no Enter or button).
      const last = active.points[active.points.length - 1];
      if (FIXED_POINTS[active.kind] === null && last && distance(last, event.point) === 0) {
        return active.points.length >= MIN_POINTS[active.kind] ? { ...state, active: null, done: [...state.done, active] } : state;
      }
      const points = [...active.points, event.point];
      const target = FIXED_POINTS[active.kind];
      const next = { ...active, points, rows: [...active.rows, event.row ?? null] };
      if (target !== null && points.length >= target) return { ...state, active: null, done: [...state.done, next] };
      return { ...state, active: next };
    }
    case 'finish': {
      const active = state.active;
      if (!active) return state;
      if (active.points.length < MIN_POINTS[active.kind]) return { ...state, active: null };
      return { ...state, active: null, done: [...state.done, active] };
    }
    case 'cancel':
      return { ...state, active: null };
    case 'undo':
      return state.active ? { ...state, active: { ...state.active, points: state.active.points.slice(0, -1), rows: state.active.rows.slice(0, -1) } } : state;
    case 'remove':
      return { ...state, done: state.done.filter((m) => m.id !== event.id) };
    case 'clear':
      return { ...state, active: null, done: [] };
  }
}

/** A measured value with its unit, to a precision that suits it (millimetres, 0.1°). */
export function formatMeasure(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '—';
  if (unit === '°') return `${value.toFixed(1)}°`;
  const abs = Math.abs(value);
  const digits = abs >= 1e5 ? 0 : abs >= 100 ? 2 : 3;
  return `${value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${unit}`;
}
