/** Camera moves for bookmarks and annotations: where to go and how to get there. Pure. */
export type V3 = [number, number, number];

export interface Pose {
  position: V3;
  target: V3;
}

/** Smooth start and stop (cubic ease in-out) of a fraction of the way, clamped to [0, 1]. */
export function easeInOut(t: number): number {
  const x = Math.min(1, Math.max(0, t));
  return x < 0.5 ? 4 * x * x * x : 1 - (-2 * x + 2) ** 3 / 2;
}

function lerp(a: V3, b: V3, t: number): V3 {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** The pose `elapsed` ms into a flight of `duration` ms from `from` to `to`. */
export function poseAt(from: Pose, to: Pose, elapsed: number, duration: number): Pose {
  const t = duration > 0 ? easeInOut(elapsed / duration) : 1;
  return { position: lerp(from.position, to.position, t), target: lerp(from.target, to.target, t) };
}

/**
 * A pose looking at `point` from the side the camera looks from now, `distance` away.
 * When the camera is at its target (no direction), it looks from above and behind.
 */
export function poseLookingAt(current: Pose, point: V3, distance: number): Pose {
  let d: V3 = [current.position[0] - current.target[0], current.position[1] - current.target[1], current.position[2] - current.target[2]];
  let n = Math.hypot(...d);
  if (!(n > 0) || !Number.isFinite(n)) {
    d = [0, 1, 1];
    n = Math.SQRT2;
  }
  const k = distance / n;
  return { position: [point[0] + d[0] * k, point[1] + d[1] * k, point[2] + d[2] * k], target: [...point] as V3 };
}

/** Flight time: longer for longer trips, within [400, 1500] ms. */
export function flightMs(from: Pose, to: Pose, sceneRadius: number): number {
  const trip = Math.hypot(to.position[0] - from.position[0], to.position[1] - from.position[1], to.position[2] - from.position[2]);
  const r = sceneRadius > 0 ? sceneRadius : 1;
  return Math.round(Math.min(1500, Math.max(400, 400 + (trip / r) * 500)));
}
