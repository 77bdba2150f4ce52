/**
 * Clipping in the measuring frame (the scene's metres, z up): a box that shows only the points
 * inside it or only those outside, and up to MAX_CLIP_PLANES planes that each keep one side.
 * `clipKeeps` is the rule the point shader applies (viewer/clipshader.ts writes the same test in
 * GLSL); the CPU version counts kept points and is what the unit tests pin down. Pure.
 */
import type { P3 } from './measure';

export type ClipBoxMode = 'off' | 'inside' | 'outside';

export const MAX_CLIP_PLANES = 4;

/** A plane keeping the points with normal·p <= offset (the other side is clipped). */
export interface ClipPlane {
  normal: P3;
  offset: number;
}

export interface ClipState {
  mode: ClipBoxMode;
  min: P3;
  max: P3;
  planes: ClipPlane[];
}

export const NO_CLIP: ClipState = { mode: 'off', min: [0, 0, 0], max: [0, 0, 0], planes: [] };

export function insideBox(p: P3, min: P3, max: P3): boolean {
  return p[0] >= min[0] && p[0] <= max[0] && p[1] >= min[1] && p[1] <= max[1] && p[2] >= min[2] && p[2] <= max[2];
}

export function clipKeeps(p: P3, clip: ClipState): boolean {
  if (clip.mode !== 'off') {
    const inside = insideBox(p, clip.min, clip.max);
    if (clip.mode === 'inside' ? !inside : inside) return false;
  }
  for (const plane of clip.planes.slice(0, MAX_CLIP_PLANES)) {
    const n = plane.normal;
    if (n[0] * p[0] + n[1] * p[1] + n[2] * p[2] > plane.offset) return false;
  }
  return true;
}

export function clipActive(clip: ClipState): boolean {
  return clip.mode !== 'off' || clip.planes.length > 0;
}

/** An axis-aligned plane: keep what is below `value` along the axis (or above, when `keep` is 'above'). */
export function axisPlane(axis: 0 | 1 | 2, value: number, keep: 'below' | 'above'): ClipPlane {
  const sign = keep === 'below' ? 1 : -1;
  const normal: [number, number, number] = [0, 0, 0];
  normal[axis] = sign;
  return { normal, offset: sign * value };
}

/**
 * Counts the points kept of a flat xyz array (measuring frame). `matrix` (column-major 4x4)
 * takes each position there first, as the shader's matrix does.
 */
export function countKept(positions: { count: number; getX(i: number): number; getY(i: number): number; getZ(i: number): number }, matrix: ArrayLike<number>, clip: ClipState): number {
  if (!clipActive(clip)) return positions.count;
  const m = matrix;
  let kept = 0;
  const p: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < positions.count; i++) {
    const x = positions.getX(i), y = positions.getY(i), z = positions.getZ(i);
    p[0] = m[0]! * x + m[4]! * y + m[8]! * z + m[12]!;
    p[1] = m[1]! * x + m[5]! * y + m[9]! * z + m[13]!;
    p[2] = m[2]! * x + m[6]! * y + m[10]! * z + m[14]!;
    if (clipKeeps(p, clip)) kept++;
  }
  return kept;
}

/** The middle half of a bounding box: the box a new clip starts with. */
export function middleHalf(min: P3, max: P3): { min: P3; max: P3 } {
  const q = (i: 0 | 1 | 2) => (max[i] - min[i]) / 4;
  return {
    min: [min[0] + q(0), min[1] + q(1), min[2] + q(2)],
    max: [max[0] - q(0), max[1] - q(1), max[2] - q(2)],
  };
}
