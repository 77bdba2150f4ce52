/** How the dataset page names a coordinate reference system (the API sends `{wkt, epsg}`). */
import type { Crs } from './types';

/** "EPSG:32633", else the name a WKT starts with (PROJCRS["WGS 84 / UTM 33N", …]), else "—". */
export function crsLabel(crs: Crs | null | undefined): string {
  if (crs?.epsg) return `EPSG:${crs.epsg}`;
  const wkt = crs?.wkt?.trim();
  if (!wkt) return '—';
  const named = /^[A-Z_]+\s*\[\s*"([^"]+)"/.exec(wkt);
  return named?.[1] ?? wkt.slice(0, 60);
}
