/** What the legend shows for the attribute a scene is coloured by. Pure. */
import { categoryColor, cssGradient, isColormap, toCss } from './colormap';
import type { SceneAttribute } from './types';
import { categoryLabel } from './attributekinds';

export interface Tick {
  value: number;
  label: string;
  /** 0..1 across the colour bar */
  position: number;
}

export type LegendModel =
  | { kind: 'continuous'; title: string; colormap: string; gradient: string; min: number; max: number; ticks: Tick[] }
  | { kind: 'categorical'; title: string; items: LegendItem[]; more: number }
  | { kind: 'rgb'; title: string };

/** `code` is the per-point value: the index into `categories`, or the integer itself. */
export interface LegendItem {
  label: string;
  color: string;
  code: number;
  /** points of this category among the loaded tiles, when counted */
  count?: number;
  hidden?: boolean;
}

/** What the viewer knows of a categorical attribute's codes right now. */
export interface CategoryState {
  counts?: ReadonlyMap<number, number>;
  hidden?: ReadonlySet<number>;
}

export const MAX_LEGEND_ITEMS = 12;

export function legendFor(attribute: SceneAttribute | null, colormap = 'viridis', unit?: string, categories: CategoryState = {}): LegendModel {
  if (!attribute) return { kind: 'rgb', title: 'Original colours' };
  const title = unit ? `${attribute.name} (${unit})` : attribute.name;
  if (attribute.kind === 'categorical') {
    // Codes seen in the loaded tiles when counted (a range of codes is mostly empty).
    const codes = categories.counts?.size
      ? [...categories.counts.keys()].sort((a, b) => a - b)
      : integerRange(attribute.min, attribute.max);
    const entries: { label: string; code: number }[] = attribute.categories
      ? attribute.categories.map((label, code) => ({ label: String(label), code }))
      : codes.map((code) => ({ label: categoryLabel(attribute.name, code), code }));
    const items = entries.slice(0, MAX_LEGEND_ITEMS).map(({ label, code }): LegendItem => ({
      label,
      code,
      color: toCss(categoryColor(code)),
      ...(categories.counts ? { count: categories.counts.get(code) ?? 0 } : {}),
      ...(categories.hidden ? { hidden: categories.hidden.has(code) } : {}),
    }));
    return { kind: 'categorical', title, items, more: Math.max(0, entries.length - items.length) };
  }
  const map = isColormap(colormap) ? colormap : 'viridis';
  const min = Number.isFinite(attribute.min) ? attribute.min : 0;
  const max = Number.isFinite(attribute.max) && attribute.max > min ? attribute.max : min + 1;
  const ticks = niceTicks(min, max, 5)
    .filter((v) => v >= min - 1e-9 * (max - min) && v <= max + 1e-9 * (max - min))
    .map((value) => ({ value, label: formatTick(value, max - min), position: (value - min) / (max - min) }));
  return { kind: 'continuous', title, colormap: map, gradient: cssGradient(map), min, max, ticks };
}

/** Round tick values ("nice numbers", Heckbert 1990) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max < min) [min, max] = [max, min];
  if (max === min) return [min];
  const step = niceNumber((max - min) / Math.max(1, count - 1), true);
  const start = Math.ceil(min / step) * step;
  const ticks: number[] = [];
  for (let v = start; v <= max + step * 1e-9; v += step) ticks.push(roundTo(v, step));
  return ticks;
}

function niceNumber(range: number, round: boolean): number {
  const exponent = Math.floor(Math.log10(range));
  const fraction = range / 10 ** exponent;
  let nice: number;
  if (round) nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  else nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * 10 ** exponent;
}

function roundTo(value: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(value.toFixed(Math.min(decimals, 12)));
}

/** A tick label: plain digits without trailing zeros, or exponent form for extremes. */
export function formatTick(value: number, span: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e6 || abs < 1e-4 || span < 1e-4) return value.toExponential(1);
  return String(Number(value.toFixed(6)));
}

function integerRange(min: number, max: number): number[] {
  const out: number[] = [];
  if (!Number.isFinite(min) || !Number.isFinite(max)) return out;
  for (let v = Math.ceil(min); v <= Math.floor(max) && out.length < 256; v++) out.push(v);
  return out;
}
