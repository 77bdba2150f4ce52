/**
 * The "make a scene" form: which columns become x, y, z, colour and size. Pure.
 *
 * Request body sent to POST /api/v1/scenes:
 *   {"dataset_id": "...", "encoding": {"x": "lon", "y": "lat", "z": "depth",
 *     "color": "temperature" | null, "colormap": "viridis", "size": null}}
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

export interface EncodingRequest {
  dataset_id: string;
  encoding: {
    x: string;
    y: string;
    z: string;
    color: string | null;
    colormap: string;
    size: string | null;
  };
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

export function encodingRequest(datasetId: string, form: EncodingForm): EncodingRequest {
  return {
    dataset_id: datasetId,
    encoding: {
      x: form.x.trim(),
      y: form.y.trim(),
      z: form.z.trim(),
      color: form.color.trim() || null,
      colormap: form.colormap,
      size: form.size.trim() || null,
    },
  };
}
