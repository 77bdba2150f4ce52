/** The points the viewer draws now (tiles refine by ADD: no point is drawn twice), in the measuring frame. */
import * as THREE from 'three';
import type { P3 } from '../lib/measure';
import type { Viewer } from '../viewer/viewer';

/** Each drawn point cloud with the matrix taking its positions to the measuring frame. */
export function drawnClouds(viewer: Viewer): { points: THREE.Points; toMeasure: THREE.Matrix4 }[] {
  const group = viewer.tiles.group;
  group.updateMatrixWorld(true);
  const worldToMeasure = viewer.tilesetToMeasure.multiply(group.matrixWorld.clone().invert());
  const out: { points: THREE.Points; toMeasure: THREE.Matrix4 }[] = [];
  const visit = (o: THREE.Object3D) => {
    if (!o.visible) return;
    if ((o as THREE.Points).isPoints) out.push({ points: o as THREE.Points, toMeasure: worldToMeasure.clone().multiply(o.matrixWorld) });
    o.children.forEach(visit);
  };
  group.children.forEach(visit);
  return out;
}

/** Every drawn point in the measuring frame (one reused tuple: copy it to keep it). */
export function* drawnPoints(viewer: Viewer): Generator<P3> {
  const p: [number, number, number] = [0, 0, 0];
  for (const { points, toMeasure } of drawnClouds(viewer)) {
    const position = points.geometry.getAttribute('position');
    if (!position) continue;
    const m = toMeasure.elements;
    for (let i = 0; i < position.count; i++) {
      const x = position.getX(i), y = position.getY(i), z = position.getZ(i);
      p[0] = m[0] * x + m[4] * y + m[8] * z + m[12];
      p[1] = m[1] * x + m[5] * y + m[9] * z + m[13];
      p[2] = m[2] * x + m[6] * y + m[10] * z + m[14];
      yield p;
    }
  }
}

/**
 * The scene's bounds in the measuring frame: the root bounding volume in its own frame (upright
 * east-north-up for a georeferenced scene), else the tileset box's corners taken there.
 */
export function measureBounds(viewer: Viewer): { min: P3; max: P3 } | null {
  const own = viewer.measureBox;
  if (own) return own;
  const b = viewer.bounds;
  if (b.isEmpty()) return null;
  const box = new THREE.Box3().copy(b).applyMatrix4(viewer.tilesetToMeasure);
  return { min: box.min.toArray(), max: box.max.toArray() };
}
