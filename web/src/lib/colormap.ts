/** Colormaps for continuous attributes and a palette for categorical ones. Pure. */
import type { components } from '../api-types';

export type RGB = readonly [number, number, number];

/**
 * The server's colormaps (src/spatialviz/styling/colormaps.py), sampled every 0.1 (0..255 sRGB): the same
 * colours the tiles are baked with. Keyed by the names the server publishes in its OpenAPI
 * document, so a colormap added or renamed there fails the build here until it is drawn.
 */
export type ColormapName = NonNullable<components['schemas']['ContinuousColor']['colormap']>;

const STOPS: Record<ColormapName, readonly RGB[]> = {
  viridis: [
    [68, 1, 84], [70, 36, 115], [64, 67, 133], [53, 95, 140], [42, 120, 142], [33, 145, 140],
    [39, 168, 130], [72, 190, 110], [126, 209, 78], [189, 222, 46], [253, 231, 37],
  ],
  magma: [
    [0, 0, 4], [22, 13, 55], [59, 17, 101], [99, 26, 125], [139, 40, 128], [181, 54, 122],
    [219, 75, 104], [242, 113, 98], [252, 159, 112], [254, 206, 146], [252, 253, 191],
  ],
  plasma: [
    [13, 8, 135], [63, 3, 156], [106, 3, 165], [143, 16, 160], [176, 42, 143], [204, 71, 120],
    [225, 101, 98], [241, 133, 75], [250, 168, 54], [250, 207, 38], [240, 249, 33],
  ],
  inferno: [
    [0, 0, 4], [25, 10, 58], [63, 14, 94], [105, 23, 108], [146, 38, 102], [186, 54, 85],
    [219, 82, 58], [240, 121, 26], [249, 166, 25], [249, 212, 73], [252, 255, 164],
  ],
  cividis: [
    [0, 32, 77], [0, 49, 108], [46, 68, 108], [78, 86, 108], [102, 105, 113], [125, 124, 118],
    [149, 144, 119], [175, 164, 114], [202, 186, 105], [231, 210, 88], [254, 232, 56],
  ],
  turbo: [
    [35, 23, 27], [70, 88, 213], [48, 157, 243], [40, 215, 195], [79, 247, 131], [150, 250, 80],
    [222, 219, 51], [255, 162, 35], [241, 93, 23], [185, 34, 8], [144, 13, 0],
  ],
  grey: [
    [0, 0, 0], [255, 255, 255],
  ],
};

export const COLORMAPS = Object.keys(STOPS) as readonly ColormapName[];

/** Tableau 10: distinct, colour-blind friendlier than a rainbow. Cycles past 10 categories. */
export const CATEGORICAL_PALETTE: readonly RGB[] = [
  [78, 121, 167], [242, 142, 43], [225, 87, 89], [118, 183, 178], [89, 161, 79],
  [237, 201, 72], [176, 122, 161], [255, 157, 167], [156, 117, 95], [186, 176, 172],
];

export function isColormap(name: string): name is ColormapName {
  return Object.prototype.hasOwnProperty.call(STOPS, name);
}

/** The colour at t in [0, 1] (clamped; NaN maps to 0) by linear interpolation between stops. */
export function sampleColormap(name: string, t: number): RGB {
  const stops = isColormap(name) ? STOPS[name] : STOPS.viridis;
  const x = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  const scaled = x * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(scaled));
  const f = scaled - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  return [lerp(a[0], b[0], f), lerp(a[1], b[1], f), lerp(a[2], b[2], f)];
}

/** A width×1 RGBA lookup table (what the point shader samples). */
export function colormapLUT(name: string, width = 256): Uint8Array {
  const out = new Uint8Array(width * 4);
  for (let i = 0; i < width; i++) {
    const [r, g, b] = sampleColormap(name, width === 1 ? 0 : i / (width - 1));
    out.set([Math.round(r), Math.round(g), Math.round(b), 255], i * 4);
  }
  return out;
}

/** The palette as an RGBA lookup table with one texel per colour. */
export function paletteLUT(palette: readonly RGB[] = CATEGORICAL_PALETTE): Uint8Array {
  const out = new Uint8Array(palette.length * 4);
  palette.forEach(([r, g, b], i) => out.set([r, g, b, 255], i * 4));
  return out;
}

export function categoryColor(index: number, palette: readonly RGB[] = CATEGORICAL_PALETTE): RGB {
  const n = palette.length;
  return palette[((Math.trunc(index) % n) + n) % n]!;
}

export function toCss([r, g, b]: RGB): string {
  const hex = (v: number) => Math.round(v).toString(16).padStart(2, '0');
  return `#${hex(r)}${hex(g)}${hex(b)}`;
}

/** A CSS linear-gradient showing the map left (min) to right (max). */
export function cssGradient(name: string, steps = 11): string {
  const parts: string[] = [];
  for (let i = 0; i < steps; i++) {
    const t = i / (steps - 1);
    parts.push(`${toCss(sampleColormap(name, t))} ${(t * 100).toFixed(0)}%`);
  }
  return `linear-gradient(to right, ${parts.join(', ')})`;
}

/** WCAG relative luminance of an sRGB colour (0..1). */
export function luminance([r, g, b]: RGB): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

function lerp(a: number, b: number, f: number): number {
  return a + (b - a) * f;
}
