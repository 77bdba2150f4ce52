/**
 * What a chart scene's axes say, and how big its points start. Pure.
 *
 * Tick labels read like a chart's: one suffix for the whole axis (20k, 40k, 60k rather than
 * 20000 … or 2.0e+4), separators below ten thousand (2,500), plain decimals for small
 * numbers (0.25).
 */
import { formatTick } from './legend';

/** [the largest tick from which the suffix is used, what it divides by, the suffix] */
const SUFFIXES: readonly [number, number, string][] = [
  [1e12, 1e12, 'T'],
  [1e9, 1e9, 'B'],
  [1e6, 1e6, 'M'],
  [1e4, 1e3, 'k'], // from 10,000 up: below, "2,500" reads better than "2.5k"
];

/** The labels of an axis's ticks, all with the suffix its largest tick needs. */
export function axisTickLabels(ticks: readonly number[]): string[] {
  const largest = Math.max(0, ...ticks.map((t) => (Number.isFinite(t) ? Math.abs(t) : 0)));
  const suffix = SUFFIXES.find(([scale]) => largest >= scale);
  const span = ticks.length > 1 ? Math.max(...ticks) - Math.min(...ticks) : largest;
  return ticks.map((t) => {
    if (t === 0) return '0';
    if (suffix) return `${Number((t / suffix[1]).toFixed(3))}${suffix[2]}`;
    if (Number.isInteger(t)) return t.toLocaleString('en-US');
    return formatTick(t, span);
  });
}

/** An axis's title: its label (the column's name, with its unit, from the server) and the
 * unit once, never twice. */
export function axisTitle(axis: { label: string; unit: string | null }): string {
  const label = axis.label.trim();
  if (!axis.unit || label.endsWith(`(${axis.unit})`)) return label;
  return `${label} (${axis.unit})`;
}

/** The point size (pixels) a scene opens with: charts are a few thousand rows, drawn at a
 * size that makes each one visible (as a plotting library's markers are); clouds of
 * millions of points at 2 px, so surfaces stay sharp. */
export const CHART_POINT_SIZE = 5;
export const CLOUD_POINT_SIZE = 2;

export function defaultPointSize(frame: string | null | undefined): number {
  return frame === 'chart' ? CHART_POINT_SIZE : CLOUD_POINT_SIZE;
}
