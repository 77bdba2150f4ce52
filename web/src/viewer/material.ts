/**
 * Point material: three's PointsMaterial with a vertex-shader hook that can replace the tile's
 * own colours by a colormap or categorical palette lookup of one per-point attribute ("aValue",
 * aliased per geometry to the chosen "_<column>" attribute). Recolouring is a uniform change.
 */
import * as THREE from 'three';
import { CATEGORICAL_PALETTE, colormapLUT, paletteLUT } from '../lib/colormap';
import type { TileColorSpace } from '../lib/colorspace';

export type ColorMode = 'rgb' | 'continuous' | 'categorical';

export interface PointStyle {
  mode: ColorMode;
  colormap: string;
  min: number;
  max: number;
  size: number;
}

function lutTexture(data: Uint8Array, width: number): THREE.DataTexture {
  const tex = new THREE.DataTexture(data, width, 1, THREE.RGBAFormat, THREE.UnsignedByteType);
  tex.magFilter = THREE.LinearFilter;
  tex.minFilter = THREE.LinearFilter;
  tex.colorSpace = THREE.SRGBColorSpace;
  tex.needsUpdate = true;
  return tex;
}

/** One texel per category code 0..255: red 255 = points of that code are not drawn. */
function hiddenTexture(codes: ReadonlySet<number>): THREE.DataTexture {
  const data = new Uint8Array(256 * 4);
  codes.forEach((code) => {
    if (code >= 0 && code < 256) data[code * 4] = 255;
  });
  const tex = new THREE.DataTexture(data, 256, 1, THREE.RGBAFormat, THREE.UnsignedByteType);
  tex.needsUpdate = true;
  return tex;
}

export class PointMaterial extends THREE.PointsMaterial {
  readonly uniformsExtra = {
    uMode: { value: 0 },
    uRange: { value: new THREE.Vector2(0, 1) },
    uLut: { value: lutTexture(colormapLUT('viridis'), 256) },
    uLutSize: { value: 256 },
    uSrgbTiles: { value: 0 },
    uHidden: { value: hiddenTexture(new Set()) },
  };
  private palette = lutTexture(paletteLUT(), CATEGORICAL_PALETTE.length);
  private colormaps = new Map<string, THREE.DataTexture>();

  constructor() {
    super({ size: 2, sizeAttenuation: false, vertexColors: true });
    this.onBeforeCompile = (shader) => {
      Object.assign(shader.uniforms, this.uniformsExtra);
      shader.vertexShader = shader.vertexShader
        .replace(
          '#include <common>',
          `#include <common>
attribute float aValue;
uniform float uMode;
uniform vec2 uRange;
uniform sampler2D uLut;
uniform float uLutSize;
uniform float uSrgbTiles;
uniform sampler2D uHidden;`,
        )
        .replace(
          '#include <color_vertex>',
          `#include <color_vertex>
#ifdef USE_COLOR
float spatialvizHidden = 0.0;
if (uMode > 1.5) {
  float n = uLutSize;
  float raw = floor(aValue + 0.5);
  if (raw >= 0.0 && raw < 256.0) spatialvizHidden = texture2D(uHidden, vec2((raw + 0.5) / 256.0, 0.5)).r;
  float code = mod(raw, n);
  vColor.rgb = texture2D(uLut, vec2((code + 0.5) / n, 0.5)).rgb;
} else if (uMode > 0.5) {
  float span = max(uRange.y - uRange.x, 1e-20);
  float t = clamp((aValue - uRange.x) / span, 0.0, 1.0);
  vColor.rgb = texture2D(uLut, vec2(t * (uLutSize - 1.0) / uLutSize + 0.5 / uLutSize, 0.5)).rgb;
} else if (uSrgbTiles > 0.5) {
  // A tileset of ours from before COLOR_0 was written linear: decode its sRGB bytes.
  vColor.rgb = mix(vColor.rgb / 12.92, pow((vColor.rgb + 0.055) / 1.055, vec3(2.4)), step(0.04045, vColor.rgb));
}
// Otherwise the tile's own COLOR_0, linear as glTF defines it (the tiler converts from
// sRGB), used as is, like any other glTF viewer does.
#endif`,
        )
        .replace(
          '#include <fog_vertex>',
          `#include <fog_vertex>
#ifdef USE_COLOR
if (spatialvizHidden > 0.5) gl_Position = vec4(2.0, 2.0, 2.0, 1.0); // outside the clip volume
#endif`,
        );
    };
    this.customProgramCacheKey = () => 'spatialviz-points';
  }

  /** Whether the tiles' COLOR_0 holds sRGB bytes (our tilesets from before it was linear). */
  setTileColorSpace(space: TileColorSpace): void {
    this.uniformsExtra.uSrgbTiles.value = space === 'srgb' ? 1 : 0;
  }

  setStyle(style: PointStyle): void {
    this.size = style.size;
    const u = this.uniformsExtra;
    u.uMode.value = style.mode === 'continuous' ? 1 : style.mode === 'categorical' ? 2 : 0;
    u.uRange.value.set(style.min, style.max);
    if (style.mode === 'categorical') {
      u.uLut.value = this.palette;
      u.uLutSize.value = CATEGORICAL_PALETTE.length;
    } else {
      let tex = this.colormaps.get(style.colormap);
      if (!tex) {
        tex = lutTexture(colormapLUT(style.colormap), 256);
        this.colormaps.set(style.colormap, tex);
      }
      u.uLut.value = tex;
      u.uLutSize.value = 256;
    }
  }

  /** Category codes not drawn (categorical colouring only). */
  setHiddenCodes(codes: ReadonlySet<number>): void {
    this.uniformsExtra.uHidden.value.dispose();
    this.uniformsExtra.uHidden.value = hiddenTexture(codes);
  }

  override dispose(): void {
    this.uniformsExtra.uHidden.value.dispose();
    this.palette.dispose();
    this.colormaps.forEach((t) => t.dispose());
    this.uniformsExtra.uLut.value.dispose();
    super.dispose();
  }
}
