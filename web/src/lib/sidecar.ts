/**
 * A tile's sidecar: the per-point columns the tile itself leaves out (tiles carry position,
 * colour, the row id and what the scene's encoding needs). The tiler writes it beside the
 * tile as `tiles/<node>.attrs.glb`, a glTF with no mesh holding one EXT_structural_metadata
 * property table, row i for point i of the tile; `tileset.json` names it in the tile's
 * `extras.spatialviz.attributes` (docs/scenes.md, "Tile content"). The viewer fetches it
 * only to colour by such a column. Pure but for the meshopt decoder handed in.
 */
import type { PropertyTableLike } from './properties';

/** meshoptimizer's `decodeGltfBuffer` (the decoder must be ready). */
export type MeshoptDecode = (
  target: Uint8Array,
  count: number,
  size: number,
  source: Uint8Array,
  mode: string,
  filter?: string,
) => void;

const GLB_MAGIC = 0x46546c67;
const CHUNK_JSON = 0x4e4f534a;
const CHUNK_BIN = 0x004e4942;

interface MeshoptView {
  byteOffset?: number;
  byteLength: number;
  byteStride: number;
  count: number;
  mode: string;
  filter?: string;
}

interface View {
  byteOffset?: number;
  byteLength: number;
  extensions?: { EXT_meshopt_compression?: MeshoptView };
}

interface SidecarDocument {
  bufferViews?: View[];
  extensions?: {
    EXT_structural_metadata?: {
      schema: { classes: Record<string, { properties: PropertyTableLike['properties'] }> };
      propertyTables: { class: string; count: number; properties: Record<string, { values: number }> }[];
    };
  };
}

/** The URL of a tile's sidecar, relative URIs resolved as the tile's content is (against its tileset's folder), or null. */
export function sidecarUri(tile: { extras?: unknown; internal?: { basePath?: string } }): string | null {
  const extras = tile.extras as { spatialviz?: { attributes?: unknown } } | undefined;
  const uri = extras?.spatialviz?.attributes;
  if (typeof uri !== 'string' || !tile.internal?.basePath) return null;
  try {
    return new URL(uri, `${tile.internal.basePath}/`).toString();
  } catch {
    return null;
  }
}

/** The sidecar's property table, each column's values in a buffer of its own (decoded when meshopt-coded). */
export function parseSidecar(data: ArrayBuffer, decode: MeshoptDecode | null): PropertyTableLike {
  const head = new DataView(data);
  if (data.byteLength < 20 || head.getUint32(0, true) !== GLB_MAGIC) throw new Error('not a GLB');
  let offset = 12;
  let doc: SidecarDocument | null = null;
  let bin = new Uint8Array(0);
  while (offset + 8 <= data.byteLength) {
    const length = head.getUint32(offset, true);
    const type = head.getUint32(offset + 4, true);
    const body = new Uint8Array(data, offset + 8, length);
    if (type === CHUNK_JSON) doc = JSON.parse(new TextDecoder().decode(body)) as SidecarDocument;
    else if (type === CHUNK_BIN) bin = body;
    offset += 8 + length + ((4 - (length % 4)) % 4);
  }
  const meta = doc?.extensions?.EXT_structural_metadata;
  const table = meta?.propertyTables[0];
  const schema = table ? meta.schema.classes[table.class] : undefined;
  if (!doc || !table || !schema) throw new Error('the sidecar has no property table');
  const views = doc.bufferViews ?? [];
  const buffers: (ArrayBuffer | null)[] = views.map(() => null);
  for (const { values } of Object.values(table.properties)) {
    const view = views[values];
    if (!view) throw new Error(`the sidecar has no buffer view ${values}`);
    const coded = view.extensions?.EXT_meshopt_compression;
    if (coded) {
      if (!decode) throw new Error('the sidecar is meshopt-coded and no decoder was given');
      const target = new Uint8Array(coded.count * coded.byteStride);
      const start = coded.byteOffset ?? 0;
      decode(target, coded.count, coded.byteStride, bin.subarray(start, start + coded.byteLength), coded.mode, coded.filter);
      buffers[values] = target.buffer;
    } else {
      const start = view.byteOffset ?? 0;
      // A copy of its own: typed arrays over it then start at offset 0, aligned.
      buffers[values] = bin.slice(start, start + view.byteLength).buffer;
    }
  }
  return {
    definition: { count: table.count, properties: table.properties },
    properties: schema.properties,
    data: buffers,
  };
}
