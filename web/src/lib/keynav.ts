/**
 * Keyboard measuring (issue 17, keyboard access): what a key pressed on the measuring crosshair
 * does. Arrow keys or WASD move the view (with Shift they turn it), + and − (or Page Up/Down)
 * zoom, Enter places a point under the crosshair, Backspace removes the last, Escape finishes.
 * Pure: unit-tested.
 */

export type ViewMove =
  | { kind: 'pan'; dx: number; dy: number }
  | { kind: 'orbit'; dx: number; dy: number }
  | { kind: 'zoom'; steps: number };

export type CrosshairAction = { type: 'move'; move: ViewMove } | { type: 'place' } | { type: 'undo' } | { type: 'finish' };

const DIRECTIONS: Record<string, readonly [number, number]> = {
  ArrowLeft: [-1, 0], a: [-1, 0],
  ArrowRight: [1, 0], d: [1, 0],
  ArrowUp: [0, 1], w: [0, 1],
  ArrowDown: [0, -1], s: [0, -1],
};

const ZOOM: Record<string, number> = { '+': 1, '=': 1, PageUp: 1, '-': -1, _: -1, PageDown: -1 };

export interface KeyLike {
  key: string;
  shiftKey: boolean;
  ctrlKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

/** The crosshair's action for a key, or null (the key is the browser's: Tab, shortcuts). */
export function crosshairAction(e: KeyLike): CrosshairAction | null {
  if (e.ctrlKey || e.altKey || e.metaKey) return null;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  const direction = DIRECTIONS[key];
  if (direction) {
    const [dx, dy] = direction;
    return { type: 'move', move: { kind: e.shiftKey ? 'orbit' : 'pan', dx, dy } };
  }
  const zoom = ZOOM[e.key];
  if (zoom !== undefined) return { type: 'move', move: { kind: 'zoom', steps: zoom } };
  if (e.key === 'Enter') return { type: 'place' };
  if (e.key === 'Backspace' || e.key === 'Delete') return { type: 'undo' };
  if (e.key === 'Escape') return { type: 'finish' };
  return null;
}

/** How far one key press moves the view: a fraction of the distance to what it looks at. */
export const PAN_FRACTION = 0.04;
/** One key press turns the view this much (radians, 5°). */
export const ORBIT_STEP = Math.PI / 36;
/** One zoom step's factor on the distance to what the view looks at. */
export const ZOOM_FACTOR = 0.8;

/**
 * How close to the crosshair (CSS pixels) a drawn point may be to count as under it: a keyboard
 * user aims by moving the view, never to the pixel.
 */
export const AIM_RADIUS_PX = 16;

/** The tangent of the angle `px` CSS pixels off the centre subtend, for a view `heightPx` tall with vertical field `fovDeg`. */
export function aimTangent(px: number, heightPx: number, fovDeg: number): number {
  return (px / Math.max(heightPx / 2, 1)) * Math.tan((fovDeg * Math.PI) / 360);
}
