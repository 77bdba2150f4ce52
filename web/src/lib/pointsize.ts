/**
 * Point size modes. Pure.
 *
 * - fixed: every point is `base` pixels, near or far.
 * - attenuated: points have a size in the scene (perspective): `base` pixels at the
 *   distance the view was framed from, bigger nearer, smaller farther.
 * - adaptive: the size follows the density of what is drawn: coarse levels of detail (few
 *   points on screen) get bigger points so surfaces stay closed, fine levels smaller ones,
 *   `base` at about one point per 2×2 pixels.
 */
export type PointSizeMode = 'fixed' | 'attenuated' | 'adaptive';

export const POINT_SIZE_MODES: readonly PointSizeMode[] = ['fixed', 'attenuated', 'adaptive'];

/**
 * three.js' size for attenuated points: it draws `size * (canvasHeight / 2) / depth`
 * pixels, so `base` pixels at `referenceDistance` needs this.
 */
export function attenuatedSize(base: number, referenceDistance: number, canvasHeight: number): number {
  const half = Math.max(1, canvasHeight) / 2;
  return (base * Math.max(referenceDistance, 1e-9)) / half;
}

/** Pixels per point for the adaptive mode, within [base / 2, base * 4] and [1, 64]. */
export function adaptiveSize(base: number, canvasPixels: number, pointsDrawn: number): number {
  if (pointsDrawn <= 0 || canvasPixels <= 0) return base;
  // Side of the square each drawn point would cover if the points tiled the canvas.
  const spacing = Math.sqrt(canvasPixels / pointsDrawn);
  const size = base * (spacing / 2);
  return Math.min(64, Math.max(1, Math.min(base * 4, Math.max(base / 2, size))));
}

/** Whether a new adaptive size is worth a change (avoids re-setting every frame). */
export function sizeChanged(previous: number, next: number): boolean {
  return Math.abs(next - previous) > Math.max(0.05, previous * 0.05);
}
