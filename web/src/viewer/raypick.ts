/**
 * The one ray → point step shared by desktop clicks and XR controllers: the nearest drawn point
 * within `threshold` (world units) of the ray, and that point's own position (not the spot on
 * the ray), in world coordinates. No renderer needed, so the XR measuring flow is unit-tested.
 */
import * as THREE from 'three';

export interface RayHit {
  object: THREE.Points;
  index: number;
  /** the point's own position, world coordinates */
  world: THREE.Vector3;
}

export function rayPick(raycaster: THREE.Raycaster, target: THREE.Object3D, threshold: number): RayHit | null {
  raycaster.params.Points = { threshold };
  const hit = raycaster.intersectObject(target, true).find((h) => (h.object as THREE.Points).isPoints);
  return hit ? toRayHit(hit) : null;
}

function toRayHit(hit: THREE.Intersection): RayHit {
  const object = hit.object as THREE.Points;
  const index = hit.index ?? 0;
  const world = new THREE.Vector3().fromBufferAttribute(object.geometry.getAttribute('position'), index).applyMatrix4(object.matrixWorld);
  return { object, index, world };
}

/**
 * The drawn point nearest the ray by angle, within `maxTangent` of it (a cone from the ray's
 * origin, not the click's thin cylinder): what a keyboard user's crosshair is on. `reach` is how
 * far along the ray the cone is searched (world units).
 */
export function aimPick(raycaster: THREE.Raycaster, target: THREE.Object3D, maxTangent: number, reach: number): RayHit | null {
  raycaster.params.Points = { threshold: maxTangent * reach };
  let best: RayHit | null = null;
  let bestTangent = maxTangent;
  for (const hit of raycaster.intersectObject(target, true)) {
    if (!(hit.object as THREE.Points).isPoints || hit.distance <= 0) continue;
    // In world units (a hit's distanceToRay is in the tile's own, quantised ones).
    const candidate = toRayHit(hit);
    const tangent = raycaster.ray.distanceToPoint(candidate.world) / hit.distance;
    if (tangent <= bestTangent) {
      best = candidate;
      bestTangent = tangent;
    }
  }
  return best;
}
