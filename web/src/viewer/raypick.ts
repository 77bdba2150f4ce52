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
  if (!hit) return null;
  const object = hit.object as THREE.Points;
  const index = hit.index ?? 0;
  const world = new THREE.Vector3().fromBufferAttribute(object.geometry.getAttribute('position'), index).applyMatrix4(object.matrixWorld);
  return { object, index, world };
}
