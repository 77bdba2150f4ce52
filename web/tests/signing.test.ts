import { describe, expect, it } from 'vitest';
import { signedUrl, signingPlugin } from '../src/lib/signing';

const base = 'https://viz.example/scenes/s1';
const tileset = '/api/v1/scenes/s1/tileset.json?exp=1700000000&sig=abc-_123';

describe('signedUrl', () => {
  it('appends the tileset signature to a child tile', () => {
    expect(signedUrl('https://viz.example/api/v1/scenes/s1/tiles/0/1.glb', tileset, base)).toBe(
      'https://viz.example/api/v1/scenes/s1/tiles/0/1.glb?exp=1700000000&sig=abc-_123',
    );
  });

  it('leaves the tileset itself and already-signed URLs alone', () => {
    const abs = `https://viz.example${tileset}`;
    expect(signedUrl(abs, tileset, base)).toBe(abs);
    expect(signedUrl(tileset, tileset, base)).toBe(tileset);
  });

  it('keeps the tile own query and adds only missing keys', () => {
    const out = new URL(signedUrl('https://viz.example/api/v1/scenes/s1/tiles/a.glb?v=2&sig=other', tileset, base));
    expect(out.searchParams.get('v')).toBe('2');
    expect(out.searchParams.get('sig')).toBe('other');
    expect(out.searchParams.get('exp')).toBe('1700000000');
  });

  it('never leaks the signature to other origins or other paths', () => {
    expect(signedUrl('https://cdn.other/api/v1/scenes/s1/tiles/0.glb', tileset, base)).toBe('https://cdn.other/api/v1/scenes/s1/tiles/0.glb');
    expect(signedUrl('https://viz.example/api/v1/scenes/s2/tiles/0.glb', tileset, base)).toBe('https://viz.example/api/v1/scenes/s2/tiles/0.glb');
  });

  it('does nothing for an unsigned tileset or unparsable input', () => {
    expect(signedUrl('https://viz.example/api/v1/scenes/s1/tiles/0.glb', '/api/v1/scenes/s1/tileset.json', base)).toBe(
      'https://viz.example/api/v1/scenes/s1/tiles/0.glb',
    );
    expect(signedUrl('http://[bad', tileset, base)).toBe('http://[bad');
  });

  it('exposes a preprocessURL plugin', () => {
    const plugin = signingPlugin(tileset, base);
    expect(plugin.preprocessURL('https://viz.example/api/v1/scenes/s1/tiles/x.glb')).toContain('sig=abc-_123');
  });
});
