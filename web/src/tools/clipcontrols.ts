/**
 * The clip controls: a box (off / show inside / show outside) with a min and max slider per
 * axis, and up to four planes (axis, keep below or above, a slider), all in the measuring
 * frame. Applied by the point shader (clipshader.ts); the kept-point count over the drawn
 * tiles is computed with the same rule and shown.
 */
import * as THREE from 'three';
import { MAX_CLIP_PLANES, axisPlane, clipActive, countKept, type ClipBoxMode, type ClipState } from '../lib/clip';
import type { P3 } from '../lib/measure';
import { formatCount, h } from '../ui/dom';
import type { Viewer } from '../viewer/viewer';
import { installClipShader, setClipUniforms } from './clipshader';
import { drawnClouds, measureBounds } from './cloud';

const AXES = ['x', 'y', 'z'] as const;
const STEPS = 1000;

export interface ClipDebug {
  mode: ClipBoxMode;
  planes: number;
  min: P3;
  max: P3;
  kept: number;
  drawn: number;
}

interface PlaneRow {
  axis: HTMLSelectElement;
  keep: HTMLSelectElement;
  value: HTMLInputElement;
  row: HTMLElement;
}

export class ClipControls {
  readonly element: HTMLElement;
  readonly debug: ClipDebug = { mode: 'off', planes: 0, min: [0, 0, 0], max: [0, 0, 0], kept: 0, drawn: 0 };
  private readonly uniforms;
  private readonly helperFrame = new THREE.Group();
  private helper: THREE.Box3Helper | null = null;
  private bounds: { min: P3; max: P3 } | null = null;
  private mode: ClipBoxMode = 'off';
  private readonly sliders: HTMLInputElement[] = [];
  private readonly planeRows: PlaneRow[] = [];
  private readonly planeList = h('div', { class: 'clip-planes' });
  private readonly count = h('p', { class: 'muted', 'data-testid': 'clip-count', 'aria-live': 'polite' });
  private readonly addPlane: HTMLButtonElement;
  private readonly timer: ReturnType<typeof setInterval>;
  private counted = '';
  private readonly previousBeforeRender: THREE.Scene['onBeforeRender'];

  constructor(private readonly viewer: Viewer) {
    this.uniforms = installClipShader(viewer.material);
    // world → measuring frame, every frame: VR moves and scales the scene under the points.
    const scene = viewer.scene;
    this.previousBeforeRender = scene.onBeforeRender.bind(scene);
    const worldToTileset = new THREE.Matrix4();
    scene.onBeforeRender = (...args) => {
      this.previousBeforeRender(...args);
      viewer.tiles.group.updateWorldMatrix(true, false);
      worldToTileset.copy(viewer.tiles.group.matrixWorld).invert();
      this.uniforms.uClipMatrix.value.copy(viewer.tilesetToMeasure).multiply(worldToTileset);
    };
    this.helperFrame.matrixAutoUpdate = false;
    viewer.offset.add(this.helperFrame);

    const modes = h('div', { class: 'clip-modes', role: 'radiogroup', 'aria-label': 'Clip box' },
      ...(['off', 'inside', 'outside'] as const).map((mode) => h('label', {}, h('input', {
        type: 'radio', name: 'clip-mode', value: mode, checked: mode === 'off', 'data-testid': `clip-mode-${mode}`,
        onchange: () => this.setMode(mode),
      }), mode === 'off' ? ' Off' : mode === 'inside' ? ' Show inside' : ' Show outside')));
    const grid = h('div', { class: 'clip-grid' }, h('span', {}), h('span', {}, 'from'), h('span', {}, 'to'));
    for (const axis of AXES) {
      const lo = h('input', { type: 'range', min: 0, max: STEPS, value: STEPS / 4, 'aria-label': `Clip box ${axis} from`, 'data-testid': `clip-${axis}-min` });
      const hi = h('input', { type: 'range', min: 0, max: STEPS, value: (3 * STEPS) / 4, 'aria-label': `Clip box ${axis} to`, 'data-testid': `clip-${axis}-max` });
      lo.addEventListener('input', () => this.apply());
      hi.addEventListener('input', () => this.apply());
      this.sliders.push(lo, hi);
      grid.append(h('span', {}, axis), lo, hi);
    }
    this.addPlane = h('button', { type: 'button', 'data-testid': 'clip-add-plane', onclick: () => this.newPlane() }, 'Add clipping plane');
    this.element = h('div', { class: 'clip-tool', 'data-testid': 'clip-tool' }, modes, grid, this.planeList, this.addPlane, this.count);
    // Tiles stream in and out: recount when what is drawn changed.
    this.timer = setInterval(() => this.refresh(false), 1000);
  }

  private setMode(mode: ClipBoxMode): void {
    this.mode = mode;
    this.apply();
  }

  private newPlane(): void {
    if (this.planeRows.length >= MAX_CLIP_PLANES) return;
    const n = this.planeRows.length + 1;
    const axis = h('select', { 'aria-label': `Plane ${n} axis`, 'data-testid': 'clip-plane-axis' }, ...AXES.map((a) => h('option', { value: a, selected: a === 'z' }, a)));
    const keep = h('select', { 'aria-label': `Plane ${n} keeps`, 'data-testid': 'clip-plane-keep' }, h('option', { value: 'below' }, 'keep below'), h('option', { value: 'above' }, 'keep above'));
    const value = h('input', { type: 'range', min: 0, max: STEPS, value: STEPS / 2, 'aria-label': `Plane ${n} position`, 'data-testid': 'clip-plane-value' });
    const row: PlaneRow = { axis, keep, value, row: h('div', { class: 'clip-plane', 'data-testid': 'clip-plane' }) };
    const remove = h('button', { type: 'button', 'aria-label': `Remove plane ${n}`, 'data-testid': 'clip-plane-remove', onclick: () => {
      this.planeRows.splice(this.planeRows.indexOf(row), 1);
      row.row.remove();
      this.apply();
    } }, '✕');
    row.row.append(axis, keep, value, remove);
    for (const el of [axis, keep, value]) el.addEventListener('input', () => this.apply());
    this.planeRows.push(row);
    this.planeList.append(row.row);
    this.apply();
    axis.focus();
  }

  /** The clip as the controls set it, in the measuring frame (null until the bounds are known). */
  state(): ClipState | null {
    this.bounds ??= measureBounds(this.viewer);
    const b = this.bounds;
    if (!b) return null;
    const at = (axis: 0 | 1 | 2, slider: HTMLInputElement) => b.min[axis] + (Number(slider.value) / STEPS) * (b.max[axis] - b.min[axis]);
    const lo: P3 = [at(0, this.sliders[0]!), at(1, this.sliders[2]!), at(2, this.sliders[4]!)];
    const hi: P3 = [at(0, this.sliders[1]!), at(1, this.sliders[3]!), at(2, this.sliders[5]!)];
    const min: P3 = [Math.min(lo[0], hi[0]), Math.min(lo[1], hi[1]), Math.min(lo[2], hi[2])];
    const max: P3 = [Math.max(lo[0], hi[0]), Math.max(lo[1], hi[1]), Math.max(lo[2], hi[2])];
    const planes = this.planeRows.map((r) => {
      const axis = AXES.indexOf(r.axis.value as 'x') as 0 | 1 | 2;
      return axisPlane(axis, at(axis, r.value), r.keep.value as 'below' | 'above');
    });
    return { mode: this.mode, min, max, planes };
  }

  /** Sets the box in the measuring frame (tests, and a later "box from selection"). */
  setBox(min: P3, max: P3, mode: ClipBoxMode): void {
    const b = this.bounds ?? measureBounds(this.viewer);
    if (!b) return;
    for (let axis = 0; axis < 3; axis++) {
      const span = b.max[axis]! - b.min[axis]! || 1;
      this.sliders[2 * axis]!.value = String(Math.round(((min[axis]! - b.min[axis]!) / span) * STEPS));
      this.sliders[2 * axis + 1]!.value = String(Math.round(((max[axis]! - b.min[axis]!) / span) * STEPS));
    }
    const radio = this.element.querySelector<HTMLInputElement>(`[data-testid=clip-mode-${mode}]`);
    if (radio) radio.checked = true;
    this.setMode(mode);
  }

  private apply(): void {
    const clip = this.state();
    this.addPlane.disabled = this.planeRows.length >= MAX_CLIP_PLANES;
    if (!clip) return;
    setClipUniforms(this.uniforms, clip);
    this.helper?.removeFromParent();
    this.helper?.dispose();
    this.helper = null;
    if (clip.mode !== 'off') {
      this.helper = new THREE.Box3Helper(new THREE.Box3(new THREE.Vector3(...clip.min), new THREE.Vector3(...clip.max)), clip.mode === 'inside' ? 0x4cc9f0 : 0xff6b6b);
      this.helperFrame.matrix.copy(this.viewer.tilesetToMeasure).invert();
      this.helperFrame.matrixWorldNeedsUpdate = true;
      this.helperFrame.add(this.helper);
    }
    Object.assign(this.debug, { mode: clip.mode, planes: clip.planes.length, min: clip.min, max: clip.max });
    this.refresh();
  }

  /** Recounts the drawn and kept points (always, or only when the drawn clouds changed). */
  refresh(always = true): void {
    const clip = this.state();
    if (!clip) return;
    const clouds = drawnClouds(this.viewer);
    const signature = clouds.map((c) => c.points.id).join(',');
    if (!always && signature === this.counted) return;
    this.counted = signature;
    let drawn = 0;
    let kept = 0;
    for (const { points, toMeasure } of clouds) {
      const position = points.geometry.getAttribute('position');
      if (!position) continue;
      drawn += position.count;
      if (clipActive(clip)) kept += countKept(position, toMeasure.elements, clip);
      else kept += position.count;
    }
    this.debug.drawn = drawn;
    this.debug.kept = kept;
    this.count.textContent = clipActive(clip) ? `${formatCount(kept)} of ${formatCount(drawn)} loaded points shown` : `${formatCount(drawn)} loaded points, none clipped`;
  }

  dispose(): void {
    clearInterval(this.timer);
    this.viewer.scene.onBeforeRender = this.previousBeforeRender;
    this.helper?.dispose();
    this.helperFrame.removeFromParent();
  }
}
