/**
 * The legend for a scene drawn in its tiles' own colours when the tiler painted them from a
 * categorical encoding (the demo chart's regions): category names in the server's palette
 * order, rows per category from the ingest statistics, and the rest as "other". Pure.
 */
import type { LegendItem, LegendModel } from './legend';
import { MAX_LEGEND_ITEMS } from './legend';

/** src/spatialviz/styling/colormaps.py's palettes (tests/styling/test_palette_parity.py keeps them equal). */
export const SERVER_PALETTES: Readonly<Record<string, readonly string[]>> = {
  tableau10: ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'],
  set1: ['#e41a1c', '#377eb8', '#4daf4a', '#984ea3', '#ff7f00', '#ffff33', '#a65628', '#f781bf', '#999999'],
  set3: ['#8dd3c7', '#ffffb3', '#bebada', '#fb8072', '#80b1d3', '#fdb462', '#b3de69', '#fccde5', '#d9d9d9', '#bc80bd', '#ccebc5', '#ffed6f'],
  dark2: ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#666666'],
};
/** colormaps.py's OTHER_COLOR: values outside the category list. */
export const OTHER_COLOR = '#a0a0a0';
/** The legend code of the "other" row (codes of named categories are 0..n-1). */
export const OTHER_CODE = -2;

export interface BakedColor {
  mode?: string;
  column?: string;
  palette?: string;
  categories?: unknown[] | null;
}

interface BakedAttribute {
  name: string;
  category_counts?: number[] | null;
  other_count?: number | null;
}

/** null: the scene's colours are not a categorical encoding with known categories. */
export function bakedLegend(color: BakedColor | null | undefined, attributes: readonly BakedAttribute[]): LegendModel | null {
  if (!color || color.mode !== 'categorical' || !color.column || !color.categories?.length) return null;
  const palette = SERVER_PALETTES[color.palette ?? 'tableau10'] ?? SERVER_PALETTES.tableau10!;
  const attribute = attributes.find((a) => a.name === color.column);
  const counts = attribute?.category_counts ?? null;
  const entries: LegendItem[] = color.categories.map((name, code) => ({
    label: String(name),
    code,
    color: palette[code % palette.length]!,
    ...(counts && counts[code] !== undefined ? { count: counts[code] } : {}),
  }));
  const items = entries.slice(0, MAX_LEGEND_ITEMS);
  const other = attribute?.other_count ?? 0;
  if (other > 0) items.push({ label: 'other', code: OTHER_CODE, color: OTHER_COLOR, count: other });
  return { kind: 'categorical', title: color.column, items, more: Math.max(0, entries.length - MAX_LEGEND_ITEMS) };
}
