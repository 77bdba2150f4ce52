import * as THREE from 'three';
import { describe, expect, it } from 'vitest';
import { aimPick, rayPick } from '../src/viewer/raypick';

function cloud(points: [number, number, number][]): THREE.Group {
  const group = new THREE.Group();
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', new THREE.Float32BufferAttribute(points.flat(), 3));
  group.add(new THREE.Points(geometry, new THREE.PointsMaterial()));
  group.updateMatrixWorld(true);
  return group;
}

/** A ray from the origin down -z. */
function ray(): THREE.Raycaster {
  return new THREE.Raycaster(new THREE.Vector3(0, 0, 0), new THREE.Vector3(0, 0, -1));
}

describe('aimPick', () => {
  it('takes the point nearest the ray by angle, not the nearest along it', () => {
    // 1 m off the ray at 10 m (tangent 0.1) and 1 m off at 100 m (tangent 0.01).
    const group = cloud([[1, 0, -10], [1, 0, -100]]);
    expect(aimPick(ray(), group, 0.05, 200)?.index).toBe(1);
    // A click's thin cylinder of 1.5 m takes the first one along the ray.
    expect(rayPick(ray(), group, 1.5)?.index).toBe(0);
  });

  it('misses what lies outside the cone or beyond its reach', () => {
    const group = cloud([[1, 0, -10]]);
    expect(aimPick(ray(), group, 0.05, 200)).toBeNull();
    expect(aimPick(ray(), cloud([[0.5, 0, -100]]), 0.01, 20)).toBeNull();
  });

  it('gives the point\'s own position', () => {
    const hit = aimPick(ray(), cloud([[0.2, -0.1, -10]]), 0.05, 50);
    expect(hit?.world.toArray()).toEqual([0.2, -0.1, -10].map((v) => Math.fround(v)));
  });
});

describe('aimPick in a scaled tile', () => {
  it('judges the angle in world units, not the tile\'s quantised ones', () => {
    // Quantised positions: the tile's node scales them by 1/1000.
    const group = cloud([[1000, 0, -10_000], [3000, 0, -10_000]]);
    group.children[0]!.scale.setScalar(0.001);
    group.updateMatrixWorld(true);
    const hit = aimPick(ray(), group, 0.2, 20);
    expect(hit?.index).toBe(0);
    expect(hit!.world.x).toBeCloseTo(1, 6);
  });
});
