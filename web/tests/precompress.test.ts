import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIN_BYTES, precompressTree } from '../scripts/precompress';

describe('precompressTree', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'precompress-'));
    mkdirSync(join(dir, 'assets'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes gzip and brotli siblings that decode to the source, never older than it', async () => {
    const source = join(dir, 'assets', 'main-abc.js');
    const body = Buffer.from('export const answer = () => 42;\n'.repeat(400));
    writeFileSync(source, body);
    const report = await precompressTree(dir);
    expect(report.files).toBe(1);
    expect(gunzipSync(readFileSync(`${source}.gz`)).equals(body)).toBe(true);
    expect(brotliDecompressSync(readFileSync(`${source}.br`)).equals(body)).toBe(true);
    for (const suffix of ['gz', 'br']) {
      expect(statSync(`${source}.${suffix}`).mtimeMs).toBeGreaterThanOrEqual(statSync(source).mtimeMs);
      expect(statSync(`${source}.${suffix}`).size).toBeLessThan(body.length);
    }
  });

  it('leaves small files, binaries that do not shrink and unknown types alone', async () => {
    writeFileSync(join(dir, 'index.html'), '<!doctype html>'.padEnd(MIN_BYTES - 1, ' '));
    writeFileSync(join(dir, 'assets', 'noise.wasm'), randomBytes(8192));
    writeFileSync(join(dir, 'assets', 'photo.png'), Buffer.alloc(8192));
    await precompressTree(dir);
    for (const name of ['index.html', 'assets/noise.wasm', 'assets/photo.png']) {
      expect(existsSync(join(dir, `${name}.gz`))).toBe(false);
      expect(existsSync(join(dir, `${name}.br`))).toBe(false);
    }
  });

  it('deletes a sibling whose source is gone', async () => {
    writeFileSync(join(dir, 'assets', 'old-123.js.gz'), Buffer.from('stale'));
    writeFileSync(join(dir, 'assets', 'old-123.js.br'), Buffer.from('stale'));
    await precompressTree(dir);
    expect(existsSync(join(dir, 'assets', 'old-123.js.gz'))).toBe(false);
    expect(existsSync(join(dir, 'assets', 'old-123.js.br'))).toBe(false);
  });
});
