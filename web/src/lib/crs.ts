/**
 * What the server's CRS module said about a dataset (src/spatialviz/geodesy; docs/datasets.md
 * "CRS and units"), as text for the dataset page: one line for the CRS and its units, and the
 * warnings about labels that do not fit the numbers, which must be seen, not buried in JSON.
 */
import type { Crs } from './types';

/** The API's `crs` object (CrsOut in the OpenAPI document). */
export type DatasetCrs = Crs;

/** "NAD83 / UTM zone 10N (EPSG:26910) · x, y in metre · z in foot · placed at 44.0563° N, 123.0687° W". */
export function describeCrs(crs: DatasetCrs | null | undefined): string {
  if (!crs || (!crs.crs_name && !crs.epsg && !crs.wkt)) return '—';
  const parts = [crs.crs_name ?? (crs.epsg ? `EPSG:${crs.epsg}` : 'custom CRS')];
  if (crs.crs_name && crs.epsg) parts[0] += ` (EPSG:${crs.epsg})`;
  if (crs.horizontal_unit) parts.push(`x, y in ${crs.horizontal_unit}`);
  if (crs.vertical_unit) parts.push(`z in ${crs.vertical_unit}${crs.vertical_crs ? ` (${crs.vertical_crs})` : ''}`);
  if (crs.placed === false) parts.push('not placed on Earth');
  else if (crs.center_wgs84) {
    const [lon = 0, lat = 0] = crs.center_wgs84;
    parts.push(`placed at ${Math.abs(lat).toFixed(4)}° ${lat >= 0 ? 'N' : 'S'}, ${Math.abs(lon).toFixed(4)}° ${lon >= 0 ? 'E' : 'W'}`);
  }
  return parts.join(' · ');
}

/** The dataset's warnings (stats.warnings), only the strings. */
export function datasetWarnings(stats: Record<string, unknown> | null | undefined): string[] {
  const raw = stats?.warnings;
  return Array.isArray(raw) ? raw.filter((w): w is string => typeof w === 'string') : [];
}
