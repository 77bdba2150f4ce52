/** Applies a point size mode (lib/pointsize.ts) to the viewer's material, frame by frame. */
import * as THREE from 'three';
import { adaptiveSize, attenuatedSize, sizeChanged, type PointSizeMode } from '../lib/pointsize';
import type { Viewer } from './viewer';

export class PointSizing {
  private mode: PointSizeMode = 'fixed';
  private base = 2;
  private applied = -1;
  private referenceDistance = 1;
  private readonly hook = () => this.update();

  constructor(private readonly viewer: Viewer) {
    viewer.frameHooks.add(this.hook);
  }

  get current(): { mode: PointSizeMode; base: number; size: number } {
    return { mode: this.mode, base: this.base, size: this.applied };
  }

  setMode(mode: PointSizeMode): void {
    this.mode = mode;
    // Attenuated: `base` pixels at the distance the camera is now from what it looks at.
    this.referenceDistance = Math.max(this.viewer.camera.position.distanceTo(this.viewer.viewTarget), 1e-6);
    const material = this.viewer.material;
    const attenuate = mode === 'attenuated';
    if (material.sizeAttenuation !== attenuate) {
      material.sizeAttenuation = attenuate;
      material.needsUpdate = true; // another shader variant
    }
    this.applied = -1;
    this.update();
  }

  setBase(px: number): void {
    this.base = px;
    this.applied = -1;
    this.update();
  }

  private update(): void {
    const canvas = this.viewer.renderer.getDrawingBufferSize(new THREE.Vector2());
    let size = this.base;
    if (this.mode === 'attenuated') size = attenuatedSize(this.base, this.referenceDistance, canvas.y);
    else if (this.mode === 'adaptive') size = adaptiveSize(this.base, canvas.x * canvas.y, this.viewer.pointsDrawn);
    if (this.applied < 0 || sizeChanged(this.applied, size)) {
      this.applied = size;
      this.viewer.setPointSize(size);
    }
  }

  dispose(): void {
    this.viewer.frameHooks.delete(this.hook);
  }
}
