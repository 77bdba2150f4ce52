/**
 * Hover tooltips on chart scenes (as Plotly shows a point's values): the pointer's point is
 * found with the viewer's pick ray (no marker, no pick panel), its row read through the same
 * pick query as a click, at most one pick per 80 ms, and only the newest answer shown.
 */
import { pickRow } from '../api';
import { debug } from '../debug';
import { formatValue } from '../lib/format';
import { Latest, Throttle, tooltipLines, tooltipPosition } from '../lib/hover';
import type { Scene } from '../lib/types';
import type { Viewer } from '../viewer/viewer';
import { h } from './dom';

const INTERVAL_MS = 80;

export function chartHover(stage: HTMLElement, viewer: Viewer, scene: Scene): () => void {
  const tip = h('div', { class: 'chart-tooltip', role: 'tooltip', 'data-testid': 'chart-tooltip', hidden: true });
  stage.append(tip);
  const axes = scene.axes ? [scene.axes.x.label, scene.axes.y.label, scene.axes.z.label] : [];
  const latest = new Latest();
  const cache = new Map<number, Record<string, unknown>>();
  let shownRow: number | null = null;

  const hide = () => {
    latest.next(); // any answer still on its way is stale now
    tip.hidden = true;
    shownRow = null;
    debug.hover = { rowId: null, shown: false };
  };

  const show = (row: Record<string, unknown>, rowId: number | null, x: number, y: number) => {
    tip.replaceChildren(h('table', { class: 'kv' }, h('tbody', {},
      ...tooltipLines(row, axes, formatValue).map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v))))));
    tip.hidden = false;
    const rect = stage.getBoundingClientRect();
    const { left, top } = tooltipPosition(x, y, tip.offsetWidth, tip.offsetHeight, rect.width, rect.height);
    tip.style.left = `${left}px`;
    tip.style.top = `${top}px`;
    shownRow = rowId;
    debug.hover = { rowId, shown: true };
  };

  const probe = async (clientX: number, clientY: number) => {
    const ticket = latest.next();
    const hit = viewer.peekClient(clientX, clientY);
    const rect = stage.getBoundingClientRect();
    const x = clientX - rect.left;
    const y = clientY - rect.top;
    if (!hit || (hit.rowId === null && !hit.tileRow)) {
      hide();
      return;
    }
    if (hit.rowId !== null && hit.rowId === shownRow) {
      show(cache.get(hit.rowId) ?? hit.tileRow ?? {}, hit.rowId, x, y); // same point: just follow the pointer
      return;
    }
    let row = hit.tileRow ?? {};
    if (hit.rowId !== null) {
      const known = cache.get(hit.rowId);
      if (known) row = known;
      else {
        try {
          row = (await pickRow(scene.id, hit.rowId)).row;
          if (cache.size > 200) cache.clear();
          cache.set(hit.rowId, row);
        } catch {
          // The tile's own values are still worth showing.
        }
      }
    }
    if (!latest.isCurrent(ticket)) return; // the pointer moved on meanwhile
    show(row, hit.rowId, x, y);
  };

  const throttle = new Throttle<[number, number]>(INTERVAL_MS, (cx, cy) => void probe(cx, cy));
  const onMove = (e: PointerEvent) => {
    if (e.buttons !== 0) return; // dragging is navigation
    throttle.call(e.clientX, e.clientY);
  };
  const onLeave = () => {
    throttle.cancel();
    hide();
  };
  stage.addEventListener('pointermove', onMove);
  stage.addEventListener('pointerleave', onLeave);
  debug.actions.hoverAt = (clientX: number, clientY: number) => probe(clientX, clientY);
  return () => {
    throttle.cancel();
    stage.removeEventListener('pointermove', onMove);
    stage.removeEventListener('pointerleave', onLeave);
    tip.remove();
    delete debug.actions.hoverAt;
  };
}
