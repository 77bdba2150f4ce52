/**
 * The VR measuring flow without a headset: a controller's target ray (three's
 * setFromXRController, as on a select) → the nearest drawn point (viewer/raypick.ts, the step
 * the viewer's pick uses) → the tileset frame → the measuring tool (tools/measure.ts). The scene
 * graph is the viewer's: root (placed and scaled as VR does) → content (z-up to y-up) → offset
 * (minus the centre) → the tiles' group → a tile's points.
 */
import * as THREE from 'three';
import { describe, expect, it } from 'vitest';
import { measureValues, type P3 } from '../src/lib/measure';
import { MeasureController } from '../src/tools/measure';
import { rayPick } from '../src/viewer/raypick';

const CENTRE = new THREE.Vector3(500_000, 4_000_000, 50);

function viewerGraph(cloud: P3[]) {
  const scene = new THREE.Scene();
  const root = new THREE.Group();
  const content = new THREE.Group();
  const offset = new THREE.Group();
  const group = new THREE.Group();
  scene.add(root);
  root.add(content);
  content.add(offset);
  offset.add(group);
  content.rotation.x = -Math.PI / 2;
  offset.position.copy(CENTRE).multiplyScalar(-1);
  // VR: a ~100 m scene at about a metre, a metre in front at 1.1 m height.
  root.scale.setScalar(0.01);
  root.position.set(0, 1.1, -1);
  // A tile whose positions are relative to its own corner (as glTF nodes place them).
  const tile = new THREE.Points(new THREE.BufferGeometry(), new THREE.PointsMaterial());
  tile.position.copy(CENTRE);
  tile.geometry.setAttribute('position', new THREE.Float32BufferAttribute(cloud.flatMap((p) => [p[0] - CENTRE.x, p[1] - CENTRE.y, p[2] - CENTRE.z]), 3));
  group.add(tile);
  scene.updateMatrixWorld(true);
  return { scene, root, group, tile };
}

/** A controller at `from` (world) aiming at the world position of a cloud point. */
function aimAt(scene: THREE.Scene, from: THREE.Vector3, target: THREE.Vector3): THREE.Object3D {
  const controller = new THREE.Object3D();
  controller.position.copy(from);
  // A controller's ray is its -z axis: lookAt on a non-camera object points +z, so turn it.
  controller.lookAt(target);
  controller.rotateY(Math.PI);
  scene.add(controller);
  controller.updateMatrixWorld(true);
  return controller;
}

describe('measuring by pointing in VR', () => {
  const cloud: P3[] = [];
  for (let i = 0; i < 20; i++) for (let j = 0; j < 20; j++) cloud.push([CENTRE.x - 50 + i * 5, CENTRE.y - 50 + j * 5, CENTRE.z + (i === 3 && j === 4 ? 12 : 0)]);
  const a = cloud[3 * 20 + 4]!; // the raised point
  const b = cloud[15 * 20 + 10]!;

  it('two selects along controller rays give the distance between the points aimed at', async () => {
    const { scene, group, tile } = viewerGraph(cloud);
    const worldOf = (p: P3) => new THREE.Vector3(p[0], p[1], p[2]).sub(CENTRE).applyMatrix4(tile.matrixWorld);
    const raycaster = new THREE.Raycaster();
    // The measuring frame is the tileset frame here (no georeference): dataset minus nothing.
    const measure = new MeasureController(null, () => 0.01);
    measure.start('distance');
    const hand = new THREE.Vector3(0.2, 1.3, 0);
    for (const target of [a, b]) {
      const controller = aimAt(scene, hand, worldOf(target));
      raycaster.setFromXRController(controller as THREE.XRTargetRaySpace);
      const hit = rayPick(raycaster, group, 0.004);
      expect(hit).not.toBeNull();
      const tileset = group.worldToLocal(hit!.world.clone());
      await measure.place({ rowId: hit!.index, point: [tileset.x, tileset.y, tileset.z] });
    }
    measure.dispatch({ type: 'finish' });
    const done = measure.state.done[0]!;
    expect(done.rows).toEqual([3 * 20 + 4, 15 * 20 + 10]);
    const expected = Math.hypot(b[0] - a[0], b[1] - a[1], b[2] - a[2]);
    // float32 tile positions of a 100 m tile: well within a millimetre.
    expect(measureValues('distance', done.points)!.value).toBeCloseTo(expected, 3);
  });

  it('snaps to the exact row coordinates when the server gives them, and misses nothing', async () => {
    const { scene, group, tile } = viewerGraph(cloud);
    const worldOf = (p: P3) => new THREE.Vector3(p[0], p[1], p[2]).sub(CENTRE).applyMatrix4(tile.matrixWorld);
    const raycaster = new THREE.Raycaster();
    const asked: number[] = [];
    const exact = (row: number): Promise<P3> => {
      asked.push(row);
      const p = cloud[row]!;
      return Promise.resolve([p[0], p[1], p[2]]);
    };
    const measure = new MeasureController(exact, () => 0.01);
    measure.start('height');
    for (const target of [b, a]) {
      const controller = aimAt(scene, new THREE.Vector3(-0.3, 1.5, 0.2), worldOf(target));
      raycaster.setFromXRController(controller as THREE.XRTargetRaySpace);
      const hit = rayPick(raycaster, group, 0.004)!;
      const tileset = group.worldToLocal(hit.world.clone());
      await measure.place({ rowId: hit.index, point: [tileset.x, tileset.y, tileset.z] });
    }
    expect(asked).toHaveLength(2);
    const done = measure.state.done[0]!;
    expect(done.kind).toBe('height');
    expect(measureValues('height', done.points)!.value).toBe(12); // exact, from the rows
  });

  it('a ray that passes no point places nothing', () => {
    const { scene, group } = viewerGraph(cloud);
    const controller = aimAt(scene, new THREE.Vector3(0, 1.5, 0), new THREE.Vector3(0, 3, 0)); // at the ceiling
    const raycaster = new THREE.Raycaster();
    raycaster.setFromXRController(controller as THREE.XRTargetRaySpace);
    expect(rayPick(raycaster, group, 0.004)).toBeNull();
  });
});

describe('the measuring controller', () => {
  it('snaps a pick near a placed point onto it, closing an area', async () => {
    const measure = new MeasureController(null, () => 0.5);
    measure.start('area');
    for (const p of [[0, 0, 0], [10, 0, 0], [10, 10, 0], [0.2, 0.1, 0.3]] as P3[]) await measure.place({ rowId: null, point: p });
    expect(measure.state.active).toBeNull();
    expect(measureValues('area', measure.state.done[0]!.points)!.value).toBe(50);
  });

  it('places picks in click order even when exact values answer out of order', async () => {
    let release: () => void = () => undefined;
    const slow = new Promise<void>((r) => (release = r));
    const exact = async (row: number): Promise<P3> => {
      if (row === 1) await slow;
      return [row, 0, 0];
    };
    const measure = new MeasureController(exact, () => 0);
    measure.start('distance');
    const first = measure.place({ rowId: 1, point: [1, 0, 0] });
    const second = measure.place({ rowId: 2, point: [2, 0, 0] });
    release();
    await Promise.all([first, second]);
    expect(measure.state.active!.points).toEqual([[1, 0, 0], [2, 0, 0]]);
  });

  it('a pick answered after Esc is dropped with the measurement', async () => {
    const measure = new MeasureController((row) => Promise.resolve([row, 0, 0]), () => 0);
    measure.start('distance');
    const placed = measure.place({ rowId: 5, point: [5, 0, 0] });
    measure.dispatch({ type: 'cancel' });
    await placed;
    expect(measure.state.active).toBeNull();
    expect(measure.state.done).toEqual([]);
  });
});
