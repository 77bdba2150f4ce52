/// <reference types="vitest/config" />
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const outDir = fileURLToPath(new URL('../src/spatialviz/static', import.meta.url));

/** Empties the output folder except its committed .gitkeep (emptyOutDir would delete it). */
function cleanOutDir(): Plugin {
  return {
    name: 'spatialviz-clean-outdir',
    apply: 'build',
    buildStart() {
      let names: string[] = [];
      try {
        names = readdirSync(outDir);
      } catch {
        return;
      }
      for (const name of names) if (name !== '.gitkeep') rmSync(join(outDir, name), { recursive: true, force: true });
    },
  };
}

export default defineConfig({
  plugins: [cleanOutDir()],
  base: '/',
  build: {
    outDir,
    // The folder holds a committed .gitkeep; clear only what the build produced before.
    emptyOutDir: false,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
    // No manualChunks: three.js and the tiles renderer are only reached through the scene
    // view's dynamic import, so Rollup keeps them out of the entry chunk by itself.
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8000', ws: true },
      '/livez': 'http://127.0.0.1:8000',
    },
  },
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
  },
});
