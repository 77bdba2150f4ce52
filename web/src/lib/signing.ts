/**
 * Keeps a signed tileset's query string (e.g. ?exp=...&sig=...) on the tile requests it leads to.
 *
 * 3d-tiles-renderer resolves a tile's relative content URI against the tileset URL with its last
 * path segment removed, which drops the query string: without this, every child request of a
 * signed tileset would be unsigned. Pure; used as the renderer's preprocessURL hook.
 */
export function signedUrl(url: string, tilesetUrl: string, base: string): string {
  let target: URL;
  let tileset: URL;
  try {
    target = new URL(url, base);
    tileset = new URL(tilesetUrl, base);
  } catch {
    return url;
  }
  if (!tileset.search || target.origin !== tileset.origin) return url;
  const directory = tileset.pathname.replace(/[^/]*$/, '');
  if (!target.pathname.startsWith(directory)) return url;
  let changed = false;
  for (const [key, value] of tileset.searchParams) {
    if (!target.searchParams.has(key)) {
      target.searchParams.append(key, value);
      changed = true;
    }
  }
  return changed ? target.toString() : url;
}

/** The hook in the shape TilesRenderer.registerPlugin expects. */
export function signingPlugin(tilesetUrl: string, base: string): { name: string; preprocessURL: (url: string) => string } {
  return { name: 'SPATIALVIZ_SIGNING', preprocessURL: (url: string) => signedUrl(url, tilesetUrl, base) };
}
