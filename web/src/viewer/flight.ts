/** Smooth camera flights (bookmarks, annotations), driven by the viewer's frame hooks. */
import * as THREE from 'three';
import { flightMs, poseAt, poseLookingAt, type Pose, type V3 } from '../lib/flyto';
import type { Viewer } from './viewer';

export class CameraFlight {
  private flight: { from: Pose; to: Pose; elapsed: number; duration: number; done: () => void } | null = null;
  private readonly hook = (frameMs: number) => this.step(frameMs);

  constructor(private readonly viewer: Viewer) {
    viewer.frameHooks.add(this.hook);
  }

  /** The camera's pose now (world frame). */
  pose(): Pose {
    const p = this.viewer.camera.position;
    const t = this.viewer.viewTarget;
    return { position: [p.x, p.y, p.z], target: [t.x, t.y, t.z] };
  }

  get flying(): boolean {
    return this.flight !== null;
  }

  /** Flies to `to`; resolves on arrival (or when another flight replaces this one). */
  flyTo(to: Pose): Promise<void> {
    this.flight?.done();
    const from = this.pose();
    const radius = Math.max(this.viewer.bounds.getSize(new THREE.Vector3()).length() / 2, 1e-6);
    return new Promise((resolve) => {
      this.flight = { from, to, elapsed: 0, duration: flightMs(from, to, radius * this.viewer.root.scale.x), done: resolve };
    });
  }

  /** Flies to look at `point` (tileset frame) from the side the camera looks from now. */
  flyToPoint(point: readonly [number, number, number]): Promise<void> {
    const world = this.viewer.offset.localToWorld(new THREE.Vector3(point[0], point[1], point[2]));
    const radius = Math.max(this.viewer.bounds.getSize(new THREE.Vector3()).length() / 2, 1e-6) * this.viewer.root.scale.x;
    return this.flyTo(poseLookingAt(this.pose(), [world.x, world.y, world.z] as V3, radius * 0.35));
  }

  private step(frameMs: number): void {
    const f = this.flight;
    if (!f) return;
    // A hidden tab reports huge gaps: a flight never jumps more than a tenth at a time.
    f.elapsed += Math.min(frameMs, f.duration / 10 + 1);
    const pose = poseAt(f.from, f.to, f.elapsed, f.duration);
    this.viewer.setView(new THREE.Vector3(...pose.position), new THREE.Vector3(...pose.target));
    if (f.elapsed >= f.duration) {
      this.flight = null;
      f.done();
    }
  }

  dispose(): void {
    this.viewer.frameHooks.delete(this.hook);
    this.flight?.done();
    this.flight = null;
  }
}
