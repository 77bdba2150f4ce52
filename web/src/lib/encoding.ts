/**
 * The "make a scene" form: which columns become x, y, z, colour and size. Pure.
 *
 * Request body sent to POST /api/v1/scenes, in the backend's `Encoding` shape
 * (src/spatialviz/styling/encoding.py; docs/scenes.md):
 *   {"dataset_id": "...", "encoding": {
 *     "position": {"x": "lon", "y": "lat", "z": "depth"},
 *     "color": {"mode": "continuous", "column": "temperature", "colormap": "viridis"}
 *            | {"mode": "categorical", "column": "label"} | null,   (null: dataset RGB or height)
 *     "size": {"mode": "column", "column": "weight"} | null}}
 */
import { isColormap } from './colormap';
import type { Column } from './types';

export interface EncodingForm {
  x: string;
  y: string;
  z: string;
  color: string; // '' = keep the dataset's own colours
  colormap: string;
  size: string; // '' = uniform
}

export type ColorRequest =
  | { mode: 'continuous'; column: string; colormap: string }
  | { mode: 'categorical'; column: string }
  | null;

export interface EncodingRequest {
  dataset_id: string;
  encoding: {
    position: { x: string; y: string; z: string };
    color: ColorRequest;
    size: { mode: 'column'; column: string } | null;
  };
}

/** The colour column and colormap a scene's stored encoding starts with ('' = none). */
export function initialColoring(encoding: Record<string, unknown> | null | undefined): { color: string; colormap: string } {
  const color = encoding?.color;
  if (color && typeof color === 'object') {
    const c = color as { column?: unknown; colormap?: unknown };
    return {
      color: typeof c.column === 'string' ? c.column : '',
      colormap: typeof c.colormap === 'string' ? c.colormap : 'viridis',
    };
  }
  return { color: '', colormap: 'viridis' };
}

/**
 * The text column whose per-point category codes the tiles carry (the server's
 * styling/transform.py `coded_text_column`): the column of a categorical colour over named
 * categories. Tiles carry what the current encoding needs, so other text columns are not in
 * them.
 */
export function codedTextColumn(resolved: Record<string, unknown> | null | undefined): string | null {
  const color = resolved?.color as { mode?: unknown; column?: unknown; categories?: unknown } | undefined;
  if (!color || color.mode !== 'categorical' || typeof color.column !== 'string') return null;
  const categories = color.categories;
  if (!Array.isArray(categories) || categories.length === 0 || !categories.every((c) => typeof c === 'string')) return null;
  return color.column;
}

/** Attributes the client can recolour by: those the tiles carry as numbers. A text column
 * is carried as category codes only when `coded` names it (see codedTextColumn); any other
 * lives only in the tiles' own colours. */
export function recolourable<
  T extends { name: string; kind: string; min?: number | null; categories?: unknown[] | null },
>(attributes: T[], coded: string | null = null): T[] {
  return attributes.filter((a) => {
    const categories = a.categories ?? [];
    if (categories.some((c) => typeof c === 'string')) return a.name === coded && a.kind === 'categorical';
    return a.kind === 'continuous' || categories.length > 0 || typeof a.min === 'number';
  });
}

export type FieldErrors = Partial<Record<keyof EncodingForm, string>>;

const NUMERIC = /^(u?int\d*|float\d*|double|decimal|number|integer|real)$/i;

export function isNumeric(column: Column): boolean {
  return NUMERIC.test(column.type);
}

/** A sensible starting form: columns with role x/y/z (or named x/y/z, lon/lat), else the first numerics. */
export function defaultEncoding(columns: Column[]): EncodingForm {
  const numeric = columns.filter(isNumeric);
  const used = new Set<string>();
  const pick = (role: string, names: string[]): string => {
    const found =
      columns.find((c) => c.role === role && !used.has(c.name)) ??
      columns.find((c) => names.includes(c.name.toLowerCase()) && !used.has(c.name)) ??
      numeric.find((c) => !used.has(c.name));
    if (found) used.add(found.name);
    return found?.name ?? '';
  };
  const x = pick('x', ['x', 'lon', 'longitude', 'easting']);
  const y = pick('y', ['y', 'lat', 'latitude', 'northing']);
  const z = pick('z', ['z', 'elevation', 'height', 'altitude', 'depth']);
  const color = columns.find((c) => c.role === 'color')?.name ?? '';
  return { x, y, z, color, colormap: 'viridis', size: '' };
}

export function validateEncoding(form: EncodingForm, columns: Column[]): FieldErrors {
  const errors: FieldErrors = {};
  const byName = new Map(columns.map((c) => [c.name, c]));
  for (const axis of ['x', 'y', 'z'] as const) {
    const name = form[axis];
    const column = byName.get(name);
    if (!name) errors[axis] = `Choose a column for ${axis.toUpperCase()}.`;
    else if (!column) errors[axis] = `No column named "${name}".`;
    else if (!isNumeric(column)) errors[axis] = `"${name}" is not numeric.`;
  }
  if (form.color && !byName.has(form.color)) errors.color = `No column named "${form.color}".`;
  if (form.size) {
    const column = byName.get(form.size);
    if (!column) errors.size = `No column named "${form.size}".`;
    else if (!isNumeric(column)) errors.size = `"${form.size}" is not numeric.`;
  }
  if (!isColormap(form.colormap)) errors.colormap = `Unknown colormap "${form.colormap}".`;
  return errors;
}

/**
 * The POST /scenes body. A numeric colour column is continuous (with the colormap); any
 * other column is categorical. Without ``columns`` every colour column counts as numeric.
 */
export function encodingRequest(datasetId: string, form: EncodingForm, columns: Column[] = []): EncodingRequest {
  const colorName = form.color.trim();
  const sizeName = form.size.trim();
  const colorColumn = columns.find((c) => c.name === colorName);
  let color: ColorRequest = null;
  if (colorName) {
    color =
      colorColumn && !isNumeric(colorColumn)
        ? { mode: 'categorical', column: colorName }
        : { mode: 'continuous', column: colorName, colormap: form.colormap };
  }
  return {
    dataset_id: datasetId,
    encoding: {
      position: { x: form.x.trim(), y: form.y.trim(), z: form.z.trim() },
      color,
      size: sizeName ? { mode: 'column', column: sizeName } : null,
    },
  };
}
