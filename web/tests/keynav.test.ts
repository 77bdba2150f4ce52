import { describe, expect, it } from 'vitest';
import { aimTangent, crosshairAction, type KeyLike } from '../src/lib/keynav';

const key = (k: string, mods: Partial<KeyLike> = {}): KeyLike => ({ key: k, shiftKey: false, ctrlKey: false, altKey: false, metaKey: false, ...mods });

describe('crosshairAction', () => {
  it('pans with arrows and WASD alike, and turns with Shift', () => {
    expect(crosshairAction(key('ArrowLeft'))).toEqual({ type: 'move', move: { kind: 'pan', dx: -1, dy: 0 } });
    expect(crosshairAction(key('a'))).toEqual(crosshairAction(key('ArrowLeft')));
    expect(crosshairAction(key('W'))).toEqual({ type: 'move', move: { kind: 'pan', dx: 0, dy: 1 } });
    expect(crosshairAction(key('ArrowDown', { shiftKey: true }))).toEqual({ type: 'move', move: { kind: 'orbit', dx: 0, dy: -1 } });
    expect(crosshairAction(key('D', { shiftKey: true }))).toEqual({ type: 'move', move: { kind: 'orbit', dx: 1, dy: 0 } });
  });

  it('zooms with + and − and the page keys', () => {
    expect(crosshairAction(key('+'))).toEqual({ type: 'move', move: { kind: 'zoom', steps: 1 } });
    expect(crosshairAction(key('PageDown'))).toEqual({ type: 'move', move: { kind: 'zoom', steps: -1 } });
  });

  it('places, removes and finishes', () => {
    expect(crosshairAction(key('Enter'))).toEqual({ type: 'place' });
    expect(crosshairAction(key('Backspace'))).toEqual({ type: 'undo' });
    expect(crosshairAction(key('Escape'))).toEqual({ type: 'finish' });
  });

  it('leaves Tab and shortcuts to the browser', () => {
    expect(crosshairAction(key('Tab'))).toBeNull();
    expect(crosshairAction(key('a', { ctrlKey: true }))).toBeNull();
    expect(crosshairAction(key('r', { metaKey: true }))).toBeNull();
    expect(crosshairAction(key('x'))).toBeNull();
  });
});

describe('aimTangent', () => {
  it('is the field of view edge at half the height', () => {
    expect(aimTangent(400, 800, 90)).toBeCloseTo(1, 12);
    expect(aimTangent(16, 800, 60)).toBeCloseTo((16 / 400) * Math.tan(Math.PI / 6), 12);
  });
});
