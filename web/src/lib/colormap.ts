/** Colormaps for continuous attributes and a palette for categorical ones. Pure. */

export type RGB = readonly [number, number, number];

/** Stops sampled every 0.1 from matplotlib's perceptually uniform maps (0..255 sRGB). */
const STOPS: Record<string, readonly RGB[]> = {
  viridis: [
    [68, 1, 84], [72, 36, 117], [65, 68, 135], [53, 95, 141], [42, 120, 142], [33, 145, 140],
    [34, 168, 132], [68, 191, 112], [122, 209, 81], [189, 223, 38], [253, 231, 37],
  ],
  magma: [
    [0, 0, 4], [20, 14, 54], [59, 15, 112], [100, 26, 128], [140, 41, 129], [183, 55, 121],
    [222, 73, 104], [247, 112, 92], [254, 159, 109], [254, 207, 146], [252, 253, 191],
  ],
  cividis: [
    [0, 34, 78], [18, 53, 112], [59, 73, 108], [87, 92, 109], [112, 113, 115], [138, 134, 120],
    [165, 156, 116], [193, 180, 107], [222, 205, 94], [251, 231, 73], [255, 234, 70],
  ],
  grayscale: [
    [0, 0, 0], [255, 255, 255],
  ],
};

export const COLORMAPS = Object.keys(STOPS) as readonly string[];
export type ColormapName = keyof typeof STOPS;

/** Tableau 10: distinct, colour-blind friendlier than a rainbow. Cycles past 10 categories. */
export const CATEGORICAL_PALETTE: readonly RGB[] = [
  [78, 121, 167], [242, 142, 43], [225, 87, 89], [118, 183, 178], [89, 161, 79],
  [237, 201, 72], [176, 122, 161], [255, 157, 167], [156, 117, 95], [186, 176, 172],
];

export function isColormap(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(STOPS, name);
}

/** The colour at t in [0, 1] (clamped; NaN maps to 0) by linear interpolation between stops. */
export function sampleColormap(name: string, t: number): RGB {
  const stops = STOPS[name] ?? STOPS.viridis!;
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
