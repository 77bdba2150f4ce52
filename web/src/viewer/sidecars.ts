/**
 * The sidecars of loaded tiles (lib/sidecar.ts): fetched only when the viewer needs a column
 * a tile does not carry (colouring by it), once per tile, dropped with the tile.
 */
import type { Tile } from '3d-tiles-renderer/core';
import { MeshoptDecoder } from 'three/addons/libs/meshopt_decoder.module.js';
import { parseSidecar, sidecarUri } from '../lib/sidecar';
import type { PropertyTableLike } from '../lib/properties';
import { debug, recordError } from '../debug';

interface Entry {
  table: PropertyTableLike | null;
  abort: AbortController;
}

export class SidecarCache {
  private entries = new Map<Tile, Entry>();

  /**
   * `sign`: the URL as requested (the tileset's signature copied on, as for tiles).
   * `onLoaded`: a tile's sidecar arrived (the tile is still loaded): re-read its columns.
   */
  constructor(
    private readonly sign: (url: string) => string,
    private readonly onLoaded: (tile: Tile) => void,
  ) {}

  /** Whether the tileset names a sidecar for this tile. */
  has(tile: Tile): boolean {
    return sidecarUri(tile) !== null;
  }

  /**
   * The tile's sidecar table, or null: while it loads (the first call starts it; onLoaded
   * follows), when the tile has none, or when it failed (recorded once, not retried).
   */
  table(tile: Tile): PropertyTableLike | null {
    const entry = this.entries.get(tile);
    if (entry) return entry.table;
    const uri = sidecarUri(tile);
    if (!uri) return null;
    const abort = new AbortController();
    this.entries.set(tile, { table: null, abort });
    void this.load(tile, uri, abort);
    return null;
  }

  private async load(tile: Tile, uri: string, abort: AbortController): Promise<void> {
    try {
      const response = await fetch(this.sign(uri), { signal: abort.signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const bytes = await response.arrayBuffer();
      await MeshoptDecoder.ready;
      const table = parseSidecar(bytes, MeshoptDecoder.decodeGltfBuffer);
      const entry = this.entries.get(tile);
      if (abort.signal.aborted || entry?.abort !== abort) return; // the tile went meanwhile
      entry.table = table;
      debug.sidecars.fetched += 1;
      debug.sidecars.held = this.held();
      this.onLoaded(tile);
    } catch (error) {
      if (abort.signal.aborted) return;
      recordError(`sidecar ${uri}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** The tile was unloaded: forget its sidecar (and stop its download). */
  drop(tile: Tile): void {
    const entry = this.entries.get(tile);
    if (!entry) return;
    entry.abort.abort();
    this.entries.delete(tile);
    debug.sidecars.held = this.held();
  }

  clear(): void {
    [...this.entries.keys()].forEach((tile) => this.drop(tile));
  }

  private held(): number {
    let n = 0;
    this.entries.forEach((e) => (n += e.table ? 1 : 0));
    return n;
  }
}
