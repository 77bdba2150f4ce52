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
  /** the lowest and highest sample, in the dataset's z where known (as the plot labels them) */
  heights: [number, number] | null;
}

export class ProfilePanel {
  readonly element: HTMLElement;
  readonly debug: ProfileDebug = { placing: false, line: [], width: 0, length: 0, samples: 0, heights: null };
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
    // Drawn at the panel's own pixel size, so labels and points stay legible.
    const ratio = Math.min(window.devicePixelRatio || 1, 2);
    const cssWidth = Math.max(this.element.clientWidth, 240);
    const canvas = h('canvas', { width: Math.round(cssWidth * ratio), height: Math.round(cssWidth * 0.6 * ratio), class: 'profile-chart', 'data-testid': 'profile-chart', role: 'img' });
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of samples) {
      lo = Math.min(lo, s.height);
      hi = Math.max(hi, s.height);
    }
    if (!samples.length) [lo, hi] = [0, 1];
    
    // Heights in the dataset's own z where a shift gives it (the measuring frame is re-centred).
    const shown = this.viewer.queryOffset?.[2] ?? 0;
    plot(canvas, thin(samples, MAX_PLOTTED), line.length, lo, hi, ratio, shown);
    this.debug.heights = samples.length ? [lo + shown, hi + shown] : null;
    canvas.setAttribute('aria-label', `Height profile: ${formatCount(samples.length)} points over ${formatMeasure(line.length, 'm')}, heights ${formatMeasure(lo + shown, 'm')} to ${formatMeasure(hi + shown, 'm')}`);
    this.result.replaceChildren(
      h('p', {}, h('strong', { 'data-testid': 'profile-count' }, formatCount(samples.length)), ` points within ${formatMeasure(width / 2, 'm')} of the line, ${formatMeasure(line.length, 'm')} long`),
      canvas);
    return samples;
  }
}

/** Distance along (x) against height (y), points coloured by height, with axis labels. */
function formatHeight(z: number): string {
  return `${z.toFixed(Math.abs(z) >= 1000 ? 1 : 2)} m`;
}

/** `shown` is added to heights for their labels: the dataset's own elevations where known. */
function plot(canvas: HTMLCanvasElement, samples: ProfileSample[], length: number, lo: number, hi: number, ratio: number, shown: number): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const r = ratio;
  const pad = { left: 62 * r, right: 8 * r, top: 8 * r, bottom: 30 * r };
  const dot = 3 * r;
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
    ctx.fillRect(pad.left + (s.along / (length || 1)) * w - dot / 2, pad.top + (1 - t) * hgt - dot / 2, dot, dot);
  }
  ctx.strokeStyle = '#9aa3b2';
  ctx.strokeRect(pad.left, pad.top, w, hgt);
  ctx.fillStyle = '#e9ebf0';
  ctx.font = `${12 * r}px system-ui, sans-serif`;
  // Heights at the left edge, distances under the plot.
  ctx.textAlign = 'right';
  ctx.fillText(formatHeight(hi + shown), pad.left - 4 * r, pad.top + 10 * r);
  ctx.fillText(formatHeight(lo + shown), pad.left - 4 * r, pad.top + hgt);
  const below = pad.top + hgt + 14 * r;
  ctx.textAlign = 'left';
  ctx.fillText('0', pad.left, below);
  ctx.textAlign = 'right';
  ctx.fillText(`${length.toFixed(2)} m`, pad.left + w, below);
  ctx.textAlign = 'center';
  ctx.fillText('distance along the line', pad.left + w / 2, below + 13 * r);
}
