/**
 * The height profile: click points of a line on the ground (Enter finishes, Esc cancels), set
 * the corridor's width, and the points drawn within half of it either side are plotted as
 * distance along the line against height, from the tiles already loaded (no server query: what
 * the viewer shows is what is profiled; zooming in and recomputing adds detail).
 */
import { colormapLUT } from '../lib/colormap';
import { formatMeasure, type P3 } from '../lib/measure';
import { collectProfile, profileLine, thin, type ProfileSample } from '../lib/profile';
import { formatCount, h } from '../ui/dom';
import type { Viewer } from '../viewer/viewer';
import { drawnPoints, measureBounds } from './cloud';

const MAX_SAMPLES = 2_000_000;
const MAX_PLOTTED = 100_000;

export interface ProfileDebug {
  placing: boolean;
  line: P3[];
  width: number;
  length: number;
  samples: number;
}

export class ProfilePanel {
  readonly element: HTMLElement;
  readonly debug: ProfileDebug = { placing: false, line: [], width: 0, length: 0, samples: 0 };
  private readonly width = h('input', { type: 'number', min: 0, step: 'any', 'aria-label': 'Corridor width in metres', 'data-testid': 'profile-width' });
  private readonly result = h('div', { class: 'profile-result', 'data-testid': 'profile-result', 'aria-live': 'polite' });
  private readonly draw: HTMLButtonElement;
  private points: P3[] = [];

  constructor(private readonly viewer: Viewer, private readonly onChange: () => void) {
    this.draw = h('button', { type: 'button', 'data-testid': 'profile-draw', 'aria-pressed': 'false', onclick: () => (this.placing ? this.finish() : this.start()) }, 'Draw profile line');
    const recompute = h('button', { type: 'button', 'data-testid': 'profile-compute', onclick: () => this.compute() }, 'Recompute');
    this.width.addEventListener('change', () => this.debug.line.length >= 2 && this.compute());
    this.element = h('div', { class: 'profile-tool' },
      h('div', { class: 'tool-row' }, this.draw, recompute),
      h('label', {}, 'Corridor width (m)', this.width),
      this.result);
  }

  get placing(): boolean {
    return this.debug.placing;
  }

  /** The line being drawn or last computed (the overlay shows it). */
  get line(): P3[] {
    return this.placing ? this.points : this.debug.line;
  }

  start(): void {
    if (!this.width.value) {
      const b = measureBounds(this.viewer);
      // A default corridor of 2 % of the scene's horizontal extent.
      if (b) this.width.value = String(Number((Math.hypot(b.max[0] - b.min[0], b.max[1] - b.min[1]) / 50).toPrecision(2)));
    }
    this.points = [];
    this.debug.placing = true;
    this.draw.textContent = 'Finish profile line';
    this.draw.setAttribute('aria-pressed', 'true');
    this.result.replaceChildren(h('p', { class: 'muted', 'data-testid': 'profile-hint' }, 'Click points along the line; Enter finishes, Backspace undoes, Esc cancels.'));
    this.onChange();
  }

  add(point: P3): void {
    if (!this.placing) return;
    this.points.push([point[0], point[1], point[2]]);
    this.onChange();
  }

  undo(): void {
    this.points.pop();
    this.onChange();
  }

  cancel(): void {
    this.stop();
    this.result.replaceChildren();
    this.onChange();
  }

  finish(): void {
    const line = this.points;
    this.stop();
    if (line.length >= 2) {
      this.debug.line = line;
      this.compute();
    } else {
      this.result.replaceChildren(h('p', { class: 'muted' }, 'A profile line needs two points.'));
    }
    this.onChange();
  }

  private stop(): void {
    this.debug.placing = false;
    this.draw.textContent = 'Draw profile line';
    this.draw.setAttribute('aria-pressed', 'false');
  }

  /** Profiles the drawn points along the last finished line. */
  compute(): ProfileSample[] {
    const line = profileLine(this.debug.line);
    const width = Math.max(Number(this.width.value) || 0, 0);
    const samples = line.segments.length ? collectProfile(line, width / 2, drawnPoints(this.viewer), MAX_SAMPLES) : [];
    Object.assign(this.debug, { width, length: line.length, samples: samples.length });
    const canvas = h('canvas', { width: 600, height: 300, class: 'profile-chart', 'data-testid': 'profile-chart', role: 'img' });
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of samples) {
      lo = Math.min(lo, s.height);
      hi = Math.max(hi, s.height);
    }
    if (!samples.length) [lo, hi] = [0, 1];
    canvas.setAttribute('aria-label', `Height profile: ${formatCount(samples.length)} points over ${formatMeasure(line.length, 'm')}, heights ${formatMeasure(lo, 'm')} to ${formatMeasure(hi, 'm')}`);
    plot(canvas, thin(samples, MAX_PLOTTED), line.length, lo, hi);
    this.result.replaceChildren(
      h('p', {}, h('strong', { 'data-testid': 'profile-count' }, formatCount(samples.length)), ` points within ${formatMeasure(width / 2, 'm')} of the line, ${formatMeasure(line.length, 'm')} long`),
      canvas);
    return samples;
  }
}

/** Distance along (x) against height (y), points coloured by height, with axis labels. */
function plot(canvas: HTMLCanvasElement, samples: ProfileSample[], length: number, lo: number, hi: number): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const pad = { left: 58, right: 10, top: 10, bottom: 34 };
  const w = canvas.width - pad.left - pad.right;
  const hgt = canvas.height - pad.top - pad.bottom;
  const span = hi - lo || 1;
  ctx.fillStyle = '#10131a';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const lut = colormapLUT('viridis');
  for (const s of samples) {
    const t = (s.height - lo) / span;
    const i = Math.min(255, Math.max(0, Math.round(t * 255))) * 4;
    ctx.fillStyle = `rgb(${lut[i]},${lut[i + 1]},${lut[i + 2]})`;
    ctx.fillRect(pad.left + (s.along / (length || 1)) * w - 1, pad.top + (1 - t) * hgt - 1, 2, 2);
  }
  ctx.strokeStyle = '#9aa3b2';
  ctx.strokeRect(pad.left, pad.top, w, hgt);
  ctx.fillStyle = '#e9ebf0';
  ctx.font = '14px system-ui, sans-serif';
  ctx.textAlign = 'right';
  ctx.fillText(hi.toFixed(2), pad.left - 4, pad.top + 12);
  ctx.fillText(lo.toFixed(2), pad.left - 4, pad.top + hgt);
  ctx.textAlign = 'left';
  ctx.fillText('0', pad.left, canvas.height - 14);
  ctx.textAlign = 'right';
  ctx.fillText(`${length.toFixed(2)} m`, pad.left + w, canvas.height - 14);
  ctx.textAlign = 'center';
  ctx.fillText('distance along the line (m)', pad.left + w / 2, canvas.height - 4);
  ctx.save();
  ctx.translate(14, pad.top + hgt / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText('height (m)', 0, 0);
  ctx.restore();
}
