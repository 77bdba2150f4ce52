/**
 * Writes `name.gz` and `name.br` beside every compressible file of the build, so the API
 * process (src/spatialviz/web.py) can send the client compressed without compressing on each
 * request: `spatialviz serve` has no nginx in front of it. Both use Node's own zlib (no extra
 * package), at their slowest, smallest settings: this runs once per build, the bytes are sent
 * to every visitor. The async zlib calls run on libuv's thread pool, so files compress in
 * parallel on every core.
 *
 * A sibling is written only when it is smaller than its source (the server then has nothing
 * better to send), and after the source, so its mtime is never older: the server refuses a
 * sibling older than its source, so a source rewritten by a later step is never shadowed by a
 * stale compressed copy. Siblings whose source is gone are deleted.
 */
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip as gzipCallback } from 'node:zlib';

const gzipAsync = promisify(gzipCallback);
const brotliAsync = promisify(brotliCompress);

/** Below this a compressed body saves less than the request's own headers weigh. */
export const MIN_BYTES = 1024;
/** Text formats, plus WebAssembly (Draco's decoder shrinks to a third). */
const COMPRESSIBLE = /\.(html|js|mjs|css|json|svg|txt|wasm|map)$/i;
const TEXT = /\.(html|js|mjs|css|json|svg|txt|map)$/i;
export const ENCODINGS = ['gz', 'br'] as const;

export interface PrecompressReport {
  files: number;
  bytes: number;
  gz: number;
  br: number;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

function isSibling(path: string): boolean {
  return ENCODINGS.some((suffix) => path.endsWith(`.${suffix}`));
}

export function gzip(data: Buffer): Promise<Buffer> {
  return gzipAsync(data, { level: 9 });
}

export function brotli(data: Buffer, text: boolean): Promise<Buffer> {
  return brotliAsync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_MODE]: text ? constants.BROTLI_MODE_TEXT : constants.BROTLI_MODE_GENERIC,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
}

async function precompressFile(path: string, report: PrecompressReport): Promise<void> {
  const data = readFileSync(path);
  const [gz, br] = await Promise.all([gzip(data), brotli(data, TEXT.test(path))]);
  const encoded = { gz, br };
  report.files += 1;
  report.bytes += data.length;
  for (const suffix of ENCODINGS) {
    const body = encoded[suffix];
    if (body.length >= data.length) {
      rmSync(`${path}.${suffix}`, { force: true });
      continue;
    }
    writeFileSync(`${path}.${suffix}`, body);
    report[suffix] += body.length;
  }
}

/** Compresses every file under `dir` worth it; returns what it wrote. */
export async function precompressTree(dir: string): Promise<PrecompressReport> {
  const report: PrecompressReport = { files: 0, bytes: 0, gz: 0, br: 0 };
  const files = walk(dir);
  const present = new Set(files);
  const work: Promise<void>[] = [];
  for (const path of files) {
    if (isSibling(path)) {
      if (!present.has(path.replace(/\.(gz|br)$/, ''))) rmSync(path);
      continue;
    }
    if (!COMPRESSIBLE.test(path) || statSync(path).size < MIN_BYTES) continue;
    work.push(precompressFile(path, report));
  }
  await Promise.all(work);
  return report;
}
