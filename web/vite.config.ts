/// <reference types="vitest/config" />
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { precompressTree } from './scripts/precompress';

const outDir = fileURLToPath(new URL('../src/spatialviz/static', import.meta.url));

/** Empties the output folder except its committed .gitkeep (emptyOutDir would delete it). */
function cleanOutDir(): Plugin {
  return {
    name: 'spatialviz-clean-outdir',
    apply: 'build',
    buildStart() {
      let names: string[];
      try {
        names = readdirSync(outDir);
      } catch {
        return;
      }
      for (const name of names) if (name !== '.gitkeep') rmSync(join(outDir, name), { recursive: true, force: true });
    },
  };
}

/** Swagger UI for the API docs at /docs, served from our own assets (no CDN: the docs work
 * offline and under a CSP that names only 'self'). spatialviz/api_docs.py serves them. */
const DOCS_ASSETS = ['swagger-ui-bundle.js', 'swagger-ui.css', 'oauth2-redirect.html', 'oauth2-redirect.js', 'LICENSE', 'NOTICE'];

function apiDocsAssets(): Plugin {
  return {
    name: 'spatialviz-api-docs-assets',
    apply: 'build',
    closeBundle() {
      const source = fileURLToPath(new URL('./node_modules/swagger-ui-dist/', import.meta.url));
      const target = join(outDir, 'docs');
      mkdirSync(target, { recursive: true });
      for (const name of DOCS_ASSETS) copyFileSync(join(source, name), join(target, name));
    },
  };
}

/** three's DRACOLoader names two builds of the Draco decoder with `new URL(…, import.meta.url)`:
 * the default one, which it loads, and a glTF-only one it merely exports (DRACO_GLTF_CONFIG).
 * Vite emits every such URL, so /assets/ held each decoder twice (issue: "The Draco decoder is
 * built twice"). Pointing the unused glTF URLs at the default files leaves one copy. We keep the
 * default build: it is the one our Draco point tiles were tested with, and the glTF build is
 * made for the mesh features of KHR_draco_mesh_compression. tests/test_web_build.py checks the
 * build holds each decoder file once. */
const DRACO_GLTF_DIR = "'../libs/draco/gltf/";

function dracoDecoderOnce(): Plugin {
  return {
    name: 'spatialviz-draco-decoder-once',
    enforce: 'pre', // before Vite's own new URL(…, import.meta.url) handling emits the files
    transform(code, id) {
      if (!/three\/examples\/jsm\/loaders\/DRACOLoader\.js(\?|$)/.test(id)) return null;
      // A three.js release that moved the files would silently bring the copy back.
      if (!code.includes(DRACO_GLTF_DIR)) throw new Error(`${id}: no ${DRACO_GLTF_DIR} URL to fold into the default decoder`);
      return { code: code.replaceAll(DRACO_GLTF_DIR, "'../libs/draco/"), map: null };
    },
  };
}

/** `.gz` and `.br` beside each compressible file, for the API process to send as they are
 * (web.py picks one per request from Accept-Encoding). Last, after the docs assets are copied. */
function precompress(): Plugin {
  return {
    name: 'spatialviz-precompress',
    apply: 'build',
    closeBundle: {
      order: 'post',
      sequential: true,
      async handler() {
        const report = await precompressTree(outDir);
        const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
        this.info(`precompressed ${report.files} files, ${kb(report.bytes)}: gzip ${kb(report.gz)}, brotli ${kb(report.br)}`);
      },
    },
  };
}

export default defineConfig({
  plugins: [cleanOutDir(), apiDocsAssets(), dracoDecoderOnce(), precompress()],
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
