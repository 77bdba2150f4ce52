/**
 * The tools panel (anchor: Potree's): measure distance, area, height and angle by clicking
 * points (picks snap to the drawn point, then to the row's exact coordinates from the server),
 * clip with a box or planes, and draw a height profile. Keyboard: every control is a button or
 * input; Enter (or picking the last point again) finishes a line or polygon, Backspace removes its last point, Esc cancels; the
 * crosshair (tools/crosshair.ts) places points without a mouse, and a live region announces
 * each placed point and the result. In VR,
 * a controller's select is a pick too, so the chosen tool places points by pointing, and the
 * A/X button finishes (B/Y takes back the last point).
 */
import * as THREE from 'three';
import { pickRow } from '../api';
import { debug } from '../debug';
import { EMPTY_MEASURES, MEASURE_KINDS, formatMeasure, measureValues, type MeasureKind, type MeasureState, type P3 } from '../lib/measure';
import { h } from '../ui/dom';
import type { PickHit, ToolCommand, Viewer } from '../viewer/viewer';
import { ClipControls, type ClipDebug } from './clipcontrols';
import { Crosshair } from './crosshair';
import { MeasureController } from './measure';
import { MeasureOverlay } from './overlay';
import { ProfilePanel, type ProfileDebug } from './profilepanel';
import './tools.css';

const LABELS: Record<MeasureKind, string> = { distance: 'Distance', area: 'Area', height: 'Height', angle: 'Angle' };
const HINTS: Record<MeasureKind, string> = {
  distance: 'Click points along the line; Enter (or the last point again) finishes, Backspace undoes, Esc cancels.',
  area: 'Click the corners; click the first one again or press Enter to close, Esc cancels.',
  height: 'Click the lower and the upper point; Esc cancels.',
  angle: 'Click a point, the corner, then another point; Esc cancels.',
};

export interface ToolsDebug {
  measure: { placing: MeasureKind | null; points: number; done: { id: number; kind: MeasureKind; value: number; unit: string; points: P3[]; rows: (number | null)[] }[] };
  clip: ClipDebug;
  profile: ProfileDebug;
  /** what turns the measuring frame into the dataset's coordinates (null: no shift does) */
  readonly datasetOffset: readonly number[] | null;
}

export interface Tools {
  element: HTMLElement;
  onPick(hit: PickHit | null): void;
  dispose(): void;
}

export function toolsPanel(viewer: Viewer, sceneId: string): Tools {
  const radius = () => Math.max(viewer.bounds.getSize(new THREE.Vector3()).length() / 2, 1e-6);
  const toMeasure = (p: THREE.Vector3): P3 => {
    const m = p.clone().applyMatrix4(viewer.tilesetToMeasure);
    return [m.x, m.y, m.z];
  };
  // The row's own coordinates, where the tiles are the dataset's x/y/z minus a known centre.
  const exact = async (rowId: number): Promise<P3 | null> => {
    const offset = viewer.queryOffset;
    if (!offset) return null;
    const { row } = await pickRow(sceneId, rowId);
    const xyz = [row.x, row.y, row.z].map(Number);
    return xyz.every(Number.isFinite) ? [xyz[0]! - offset[0], xyz[1]! - offset[1], xyz[2]! - offset[2]] : null;
  };

  const overlay = new MeasureOverlay(viewer.offset, viewer.tilesetToMeasure.invert(), () => radius() * 0.012);
  const state: ToolsDebug = {
    measure: { placing: null, points: 0, done: [] },
    clip: undefined as unknown as ClipDebug,
    profile: undefined as unknown as ProfileDebug,
    get datasetOffset() {
      return viewer.queryOffset ?? null;
    },
  };
  (debug as unknown as { tools: ToolsDebug }).tools = state;

  // The hint is not live: `announcer` says what changed, once.
  const hint = h('p', { class: 'muted', 'data-testid': 'measure-hint' }, 'Choose a measurement, then click points in the view.');
  const announcer = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', 'data-testid': 'measure-announce' });
  const say = (text: string) => {
    announcer.textContent = text;
  };
  const list = h('ol', { class: 'measure-list', 'data-testid': 'measure-list', 'aria-label': 'Measurements' });
  const kindButtons = new Map<MeasureKind, HTMLButtonElement>();
  const finishButton = h('button', { type: 'button', 'data-testid': 'measure-finish', disabled: true, onclick: () => measure.dispatch({ type: 'finish' }) }, 'Finish');
  const cancelButton = h('button', { type: 'button', 'data-testid': 'measure-cancel', disabled: true, onclick: () => measure.dispatch({ type: 'cancel' }) }, 'Cancel (Esc)');
  const clearButton = h('button', { type: 'button', 'data-testid': 'measure-clear', disabled: true, onclick: () => measure.dispatch({ type: 'clear' }) }, 'Remove all');

  const redraw = () => {
    const s = measure.state;
    overlay.setFrame(viewer.tilesetToMeasure.invert());
    overlay.draw(s.done, s.active, profile.line.length ? profile.line : null);
  };

  let previous: MeasureState = EMPTY_MEASURES;
  const render = (s: MeasureState) => {
    const news = measureNews(previous, s, viewer.queryOffset ?? null);
    previous = s;
    if (news) say(news);
    crosshair.shown = !!s.active || profile.placing;
    state.measure.placing = s.active?.kind ?? null;
    state.measure.points = s.active?.points.length ?? 0;
    state.measure.done = s.done.map((m) => {
      const v = measureValues(m.kind, m.points)!;
      return { id: m.id, kind: m.kind, value: v.value, unit: v.unit, points: m.points.map((p) => [...p] as unknown as P3), rows: [...m.rows] };
    });
    kindButtons.forEach((b, kind) => b.setAttribute('aria-pressed', String(s.active?.kind === kind)));
    finishButton.disabled = !s.active;
    cancelButton.disabled = !s.active;
    clearButton.disabled = !s.done.length;
    if (s.active) {
      const v = measureValues(s.active.kind, s.active.points);
      hint.textContent = `${HINTS[s.active.kind]}${v ? ` Now ${formatMeasure(v.value, v.unit)}.` : ''}`;
    } else {
      hint.textContent = 'Choose a measurement, then click points in the view.';
    }
    list.replaceChildren(...s.done.map((m) => {
      const v = measureValues(m.kind, m.points)!;
      const text = `${LABELS[m.kind]} ${formatMeasure(v.value, v.unit)}`;
      return h('li', { 'data-testid': 'measure-item', 'data-kind': m.kind, 'data-value': String(v.value) },
        h('span', { class: 'measure-value' }, text),
        v.details.length ? h('small', { class: 'muted' }, ` (${v.details.map((d) => `${d.label} ${formatMeasure(d.value, d.unit)}`).join(', ')})`) : null,
        h('button', { type: 'button', class: 'link-button', 'aria-label': `Remove ${text}`, 'data-testid': 'measure-remove', onclick: () => measure.dispatch({ type: 'remove', id: m.id }) }, 'Remove'));
    }));
    redraw();
  };

  // Snapping to placed points: about two pick thresholds (the viewer's is 0.4 % of the radius).
  const measure = new MeasureController(exact, () => radius() * 0.008, render);
  const profile = new ProfilePanel(viewer, () => redraw());
  // What the crosshair's keys and the controllers' buttons do to the tool being placed.
  const crosshairTool = {
    undo: () => {
      if (measure.placing) measure.dispatch({ type: 'undo' });
      else if (profile.placing) profile.undo();
    },
    finish: () => {
      if (measure.placing) measure.dispatch({ type: 'finish' });
      else if (profile.placing) profile.finish();
    },
    say,
  };
  const crosshair = new Crosshair(viewer, crosshairTool);
  const clip = new ClipControls(viewer);
  state.clip = clip.debug;
  state.profile = profile.debug;

  for (const kind of MEASURE_KINDS) {
    kindButtons.set(kind, h('button', {
      type: 'button', 'aria-pressed': 'false', 'data-testid': `measure-${kind}`,
      onclick: (e: MouseEvent) => {
        if (profile.placing) profile.cancel();
        measure.start(kind);
        // Chosen from the keyboard (a click without a pointer): go on placing points there.
        if (e.detail === 0) crosshair.focus();
      },
    }, LABELS[kind]));
  }

  const onKey = (e: KeyboardEvent) => {
    const placingMeasure = !!measure.placing;
    if (!placingMeasure && !profile.placing) return;
    const target = e.target as HTMLElement | null;
    const typing = !!target && ['INPUT', 'SELECT', 'TEXTAREA', 'BUTTON'].includes(target.tagName);
    if (e.key === 'Escape') {
      if (placingMeasure) measure.dispatch({ type: 'cancel' });
      else profile.cancel();
      e.preventDefault();
    } else if (e.key === 'Enter' && !typing) {
      if (placingMeasure) measure.dispatch({ type: 'finish' });
      else profile.finish();
      e.preventDefault();
    } else if (e.key === 'Backspace' && !typing) {
      if (placingMeasure) measure.dispatch({ type: 'undo' });
      else profile.undo();
      e.preventDefault();
    }
  };
  window.addEventListener('keydown', onKey);
  const onCommand = (command: ToolCommand) => {
    if (command === 'finish') crosshairTool.finish();
    else crosshairTool.undo();
  };
  viewer.commandListeners.add(onCommand);
  // For the VR end-to-end test: where a tileset-frame point is in the world (to aim a controller at).
  debug.actions.toolsWorldOf = (p: { x: number; y: number; z: number }) =>
    viewer.tiles.group.localToWorld(new THREE.Vector3(p.x, p.y, p.z)).toArray();

  const element = h('section', { class: 'panel tools-panel', 'data-testid': 'tools-panel', 'aria-label': 'Tools' },
    h('h2', {}, 'Measure'),
    h('div', { class: 'tool-row', role: 'group', 'aria-label': 'Measurement kind' }, ...kindButtons.values()),
    hint,
    announcer,
    h('div', { class: 'tool-row' }, finishButton, cancelButton, clearButton),
    list,
    h('h2', {}, 'Clip'),
    clip.element,
    h('h2', {}, 'Height profile'),
    profile.element);

  return {
    element,
    onPick(hit) {
      if (!hit) return;
      const point = toMeasure(hit.point);
      if (measure.placing) void measure.place({ rowId: hit.rowId, point });
      else if (profile.placing) profile.add(point);
    },
    dispose() {
      window.removeEventListener('keydown', onKey);
      viewer.commandListeners.delete(onCommand);
      crosshair.dispose();
      clip.dispose();
      overlay.dispose();
      delete (debug as unknown as { tools?: ToolsDebug }).tools;
      delete debug.actions.toolsWorldOf;
    },
  };
}

/** What a screen reader is told when the measurements change (null: nothing worth saying). */
function measureNews(before: MeasureState, after: MeasureState, offset: readonly number[] | null): string | null {
  const finished = after.done.find((m) => !before.done.some((d) => d.id === m.id));
  if (finished) {
    const v = measureValues(finished.kind, finished.points)!;
    const details = v.details.map((d) => `${d.label} ${formatMeasure(d.value, d.unit)}`).join(', ');
    return `${LABELS[finished.kind]} finished: ${formatMeasure(v.value, v.unit)}${details ? ` (${details})` : ''}.`;
  }
  const was = before.active;
  const now = after.active;
  if (now && was?.id === now.id && now.points.length > was.points.length) {
    const point = now.points[now.points.length - 1]!;
    const at = point.map((c, i) => String(Number((c + (offset?.[i] ?? 0)).toFixed(3)))).join(', ');
    const v = measureValues(now.kind, now.points);
    return `Point ${now.points.length} placed at ${at}.${v ? ` ${LABELS[now.kind]} now ${formatMeasure(v.value, v.unit)}.` : ''}`;
  }
  if (now && was?.id === now.id && now.points.length < was.points.length) return `Last point removed; ${now.points.length} left.`;
  if (now && was?.id !== now.id) return `${LABELS[now.kind]}: ${HINTS[now.kind]}`;
  if (was && !now) return `${LABELS[was.kind]} cancelled.`;
  return null;
}
