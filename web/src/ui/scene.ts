/** The scene page: the 3D view (loaded on demand), its controls, legend, pick and box panels, VR, AR, share. */
import { ApiError, boxQuery, createShareLink, getScene, getShareToken, isSignedIn, pickRow } from '../api';
import { arControl } from './ar';
import { debug, recordError } from '../debug';
import { COLORMAPS } from '../lib/colormap';
import { codedTextColumn, initialColoring, recolourable } from '../lib/encoding';
import { legendFor } from '../lib/legend';
import { bakedLegend } from '../lib/bakedlegend';
import { readinessChannel } from '../lib/protocol';
import type { BoxResult, Scene, SceneAttribute } from '../lib/types';
import { watchJob } from '../live';
import { errorBox, formatCount, h } from './dom';
import { budgetText, POINT_BUDGET } from '../lib/budget';
import { defaultPointSize } from '../lib/axislabels';
import { formatValue } from '../lib/format';
import { legendElement } from './legend';
import { typedAttributes } from '../lib/attributekinds';
import { defaultSceneBox, sceneAxisNames, shift } from '../lib/sceneframe';

type ViewerModule = typeof import('../viewer/viewer');
type XRModule = typeof import('../viewer/xr');
type ToolsModule = typeof import('./scenetools');

let teardown: (() => void) | null = null;

export function leaveScene(): void {
  teardown?.();
  teardown = null;
  debug.sceneId = null;
  debug.sceneReady = false;
  delete debug.actions.pickAt;
  delete debug.actions.boxQuery;
  delete debug.actions.setColorBy;
  delete debug.actions.enterVR;
  delete debug.actions.aimedAt;
}

export function sceneView(id: string): HTMLElement {
  leaveScene();
  debug.sceneId = id;
  const main = h('main', { id: 'main', class: 'scene-page' }, h('p', { 'data-testid': 'scene-loading' }, 'Loading scene…'));
  void (async () => {
    try {
      const scene = await getScene(id);
      if (scene.status !== 'ready' || !scene.tileset_url) {
        main.replaceChildren(h('p', { 'data-testid': 'scene-status' }, `This scene is ${scene.status}. It opens when tiling finishes.`));
        // Follow the tiling job (socket, with a slow HTTP poll behind it); when it ends the
        // scene is ready or failed, and the page opens it or says why.
        const tiling = scene;
        let left = false;
        const reopen = () => {
          if (!left && main.isConnected) main.replaceWith(sceneView(id));
        };
        teardown = () => (left = true);
        if (isSignedIn() && readinessChannel(tiling) && tiling.job_id) void watchJob(tiling.job_id, () => undefined).then(reopen);
        else if (readinessChannel(tiling)) setTimeout(reopen, 5000); // a share link cannot read jobs
        return;
      }
      const [viewerModule, xrModule, toolsModule] = await Promise.all([import('../viewer/viewer'), import('../viewer/xr'), import('./scenetools')]);
      mount(main, scene, viewerModule, xrModule, toolsModule);
    } catch (error) {
      const text = error instanceof ApiError ? error.message : `Could not open the scene: ${(error as Error).message}`;
      recordError(text);
      main.replaceChildren(errorBox(text, 'scene-error'));
    }
  })();
  return main;
}

function mount(main: HTMLElement, scene: Scene, { Viewer }: ViewerModule, { XRController, isVRSupported }: XRModule, sceneTools: ToolsModule): void {
  const stage = h('div', { class: 'stage', 'data-testid': 'scene-view' });
  const legendSlot = h('div', { class: 'legend-slot' });
  const status = h('div', { class: 'hud', 'data-testid': 'scene-hud', 'aria-live': 'off' });
  const pickPanel = h('section', { class: 'panel', 'data-testid': 'pick-panel', 'aria-live': 'polite' }, h('h2', {}, 'Point'), h('p', { class: 'muted' }, 'Click a point to see its row.'));
  const boxPanel = h('section', { class: 'panel', 'data-testid': 'box-panel' });
  const readOnly = !!getShareToken();
  // The point budget: the slider chooses it, its label and the HUD show the viewer's budget
  // with one formatting (budgetText), so they never disagree.
  const initial = POINT_BUDGET.initial;
  const budget = h('input', { id: 'point-budget', type: 'range', min: POINT_BUDGET.min, max: POINT_BUDGET.max, step: POINT_BUDGET.step, value: initial, 'aria-valuetext': formatCount(initial), 'data-testid': 'point-budget' });
  // Updated as the budget adapts: not live, or a screen reader would chatter (the slider
  // itself announces the chosen value).
  const budgetLabel = h('output', { for: 'point-budget', 'aria-live': 'off', 'data-testid': 'point-budget-label' }, budgetText({ budget: initial, ceiling: initial }));
  const showBudget = (b: { budget: number; ceiling: number }) => {
    const text = budgetText(b);
    if (budgetLabel.textContent !== text) budgetLabel.textContent = text;
    budget.setAttribute('aria-valuetext', formatCount(b.ceiling));
  };

  const viewer = new Viewer(stage, scene, {
    onStatus: (s) => {
      status.textContent = `${formatCount(s.points)} points · ${s.tiles} tiles · budget ${budgetText(s)}${s.loading ? ' · loading' : ''}`;
      showBudget(s);
      if (!debug.sceneReady && s.tiles > 0) debug.sceneReady = true;
    },
    onPick: (hit) => {
      void showPick(hit?.rowId ?? null, hit?.tileRow ?? null);
      tools?.onPick(hit); // a click (or VR select) also places a point of the active tool
    },
  });

  // Measure, clip, height profile (tools/): loaded with the viewer's chunk, not the entry.
  let tools: import('../tools/panel').Tools | null = null;
  let left = false;
  const toolsSlot = h('div', { hidden: true });
  void import('../tools/panel').then(({ toolsPanel }) => {
    if (left) return;
    tools = toolsPanel(viewer, scene.id);
    toolsSlot.replaceWith(tools.element);
  });
  // Notes, saved views, EDL and size modes, chart tooltips (issue 17).
  const flight = new sceneTools.CameraFlight(viewer);
  const notes = sceneTools.annotationsPanel(scene.id, scene.workspace_id, viewer, flight, readOnly);
  const rendering = sceneTools.renderingControls(viewer);
  const stopHover = scene.frame === 'chart' ? sceneTools.chartHover(stage, viewer, scene) : null;

  // Picks answer out of order when several are in flight: only the newest one is shown.
  let pickSequence = 0;
  const showPick = async (rowId: number | null, tileRow: Record<string, unknown> | null) => {
    const mine = ++pickSequence;
    debug.lastPickedRowId = rowId;
    if (rowId === null && !tileRow) {
      pickPanel.replaceChildren(h('h2', {}, 'Point'), h('p', { class: 'muted', 'data-testid': 'pick-none' }, 'No point there.'));
      return;
    }
    pickPanel.replaceChildren(h('h2', {}, `Row ${rowId ?? '?'}`), h('p', { class: 'muted' }, 'Loading…'));
    let row = tileRow ?? {};
    if (rowId !== null) {
      try {
        row = (await pickRow(scene.id, rowId)).row;
      } catch (error) {
        if (mine !== pickSequence) return;
        pickPanel.append(errorBox(error instanceof ApiError ? error.message : 'Pick query failed.', 'pick-error'));
      }
    }
    if (mine !== pickSequence) return; // a newer pick was asked for meanwhile
    debug.lastPickedRow = row;
    pickPanel.replaceChildren(h('h2', {}, `Row ${rowId ?? '?'}`), rowTable(row, 'pick-row'));
  };

  // Colour by
  // Tiles carry numeric attributes, and the category codes of the text column a
  // categorical colour asks for (a region name: code i is categories[i]); other text
  // columns are only in the tiles' own colours.
  // Constant attributes hidden; LAS codes categorical (lib/attributekinds.ts).
  const attributes = typedAttributes(recolourable(scene.attributes ?? [], codedTextColumn(scene.resolved_encoding)));
  const coloring = initialColoring(scene.encoding);
  const initialColor = attributes.some((a) => a.name === coloring.color) ? coloring.color : '';
  const initialMap = coloring.colormap;
  const colorSelect = h('select', { id: 'color-by', 'data-testid': 'color-by' },
    h('option', { value: '' }, 'Original colours'),
    ...attributes.map((a) => h('option', { value: a.name, selected: a.name === initialColor }, `${a.name} (${a.kind})`)));
  const mapSelect = h('select', { id: 'colormap', 'data-testid': 'colormap' }, ...COLORMAPS.map((m) => h('option', { value: m, selected: m === initialMap }, m)));
  // Continuous: a range control. Categorical: a legend with counts and a toggle per class.
  const rangeMin = h('input', { type: 'number', step: 'any', 'aria-label': 'Colour range from', 'data-testid': 'range-min' });
  const rangeMax = h('input', { type: 'number', step: 'any', 'aria-label': 'Colour range to', 'data-testid': 'range-max' });
  const rangeRow = h('div', { class: 'range-row' }, h('span', {}, 'Range '), rangeMin, h('span', {}, ' to '), rangeMax);
  const hidden = new Set<number>();
  let counted = -1;
  const current = (): SceneAttribute | null => attributes.find((a) => a.name === colorSelect.value) ?? null;
  const drawLegend = () => {
    const attribute = current();
    const counts = attribute?.kind === 'categorical' ? viewer.categoryCounts() : undefined;
    counted = counts ? [...counts.values()].reduce((a, b) => a + b, 0) : -1;
    const baked = attribute ? null : bakedLegend(scene.resolved_encoding.color, scene.attributes ?? []);
    if (baked) {
      legendSlot.replaceChildren(legendElement(baked)); // the tiles' colours: nothing to toggle
      return;
    }
    const model = legendFor(attribute, mapSelect.value, attribute?.unit ?? undefined, counts ? { counts, hidden } : {});
    legendSlot.replaceChildren(legendElement(model, (code, shown) => {
      if (shown) hidden.delete(code);
      else hidden.add(code);
      viewer.setHiddenCodes(hidden);
      drawLegend();
    }));
  };
  const recolor = () => {
    const attribute = current();
    viewer.setColorBy(attribute, mapSelect.value);
    hidden.clear();
    viewer.setHiddenCodes(hidden);
    mapSelect.disabled = !attribute || attribute.kind !== 'continuous';
    rangeRow.hidden = attribute?.kind !== 'continuous';
    if (attribute) {
      rangeMin.value = String(attribute.min);
      rangeMax.value = String(attribute.max);
    }
    drawLegend();
  };
  const setRange = () => {
    const lo = Number(rangeMin.value);
    const hi = Number(rangeMax.value);
    if (Number.isFinite(lo) && Number.isFinite(hi) && hi > lo) viewer.setColorRange(lo, hi);
  };
  rangeMin.addEventListener('change', setRange);
  rangeMax.addEventListener('change', setRange);
  colorSelect.addEventListener('change', recolor);
  mapSelect.addEventListener('change', recolor);
  // Counts follow the tiles as they stream in.
  const recount = setInterval(() => {
    if (current()?.kind !== 'categorical') return;
    const total = [...viewer.categoryCounts().values()].reduce((a, b) => a + b, 0);
    if (total !== counted) drawLegend();
  }, 1000);

  // A chart's few thousand rows open at a size that shows each one; clouds at 2 px.
  const startSize = defaultPointSize(scene.frame);
  const size = h('input', { id: 'point-size', type: 'range', min: 1, max: 10, step: 0.5, value: startSize, 'data-testid': 'point-size' });
  rendering.setBaseSize(startSize);
  size.addEventListener('input', () => rendering.setBaseSize(Number(size.value)));
  budget.addEventListener('input', () => {
    viewer.setPointBudget(Number(budget.value));
    showBudget(viewer.budget);
  });

  const nav = h('fieldset', { class: 'nav' }, h('legend', {}, 'Navigation'),
    ...(['orbit', 'fly'] as const).map((mode) => h('label', {}, h('input', {
      type: 'radio', name: 'nav', value: mode, checked: mode === 'orbit', 'data-testid': `nav-${mode}`,
      onchange: () => viewer.setNavigation(mode),
    }), mode === 'orbit' ? ' Orbit' : ' Fly (WASD, drag to look)')));

  // Box tool
  // min/max in the scene's frame (tile coordinates plus the tileset's centre), which the
  // server maps to the dataset's rows: for a georeferenced scene east-north-up metres, for a
  // chart the chart box (lib/sceneframe.ts, scene/sceneframe.py on the server).
  const runBox = async (min: number[], max: number[]): Promise<BoxResult | null> => {
    const { Box3, Vector3 } = await import('three');
    const center = viewer.sceneCenter;
    if (center) viewer.showBox(new Box3(new Vector3(...shift(min, center, -1)), new Vector3(...shift(max, center, -1))));
    boxPanel.replaceChildren(h('h2', {}, 'Box'), h('p', { class: 'muted' }, 'Querying…'));
    try {
      const result = await boxQuery(scene.id, min, max);
      debug.lastBox = { count: result.count };
      boxPanel.replaceChildren(h('h2', {}, 'Box'), boxResult(result));
      return result;
    } catch (error) {
      boxPanel.replaceChildren(h('h2', {}, 'Box'), errorBox(error instanceof ApiError ? error.message : 'Box query failed.', 'box-error'));
      return null;
    }
  };
  const boxForm = boxTool(viewer, scene.frame, runBox);

  // Actions
  const actions = h('div', { class: 'actions' });
  const vrButton = h('button', { class: 'primary', 'data-testid': 'enter-vr', disabled: true }, 'Enter VR');
  const xr = new XRController(viewer, (state) => {
    vrButton.textContent = state === 'active' ? 'Exit VR' : 'Enter VR';
  });
  const enterVR = async () => {
    try {
      if (xr.active) await xr.leave();
      else await xr.enter();
    } catch (error) {
      debug.xr.session = 'none';
      recordError(`XR: ${(error as Error).message}`);
      actions.append(errorBox(`Could not start VR: ${(error as Error).message}`, 'vr-error'));
    }
  };
  vrButton.addEventListener('click', () => void enterVR());
  void isVRSupported().then((ok) => {
    vrButton.disabled = !ok;
    vrButton.title = ok ? 'Open this scene in your headset' : 'WebXR immersive VR is not available in this browser';
  });
  actions.append(vrButton, arControl(scene.id));
  if (!readOnly && isSignedIn()) {
    const shareOut = h('div', { 'aria-live': 'polite', 'data-testid': 'share-result' });
    actions.append(h('button', {
      'data-testid': 'share',
      onclick: async () => {
        try {
          const link = await createShareLink(scene.id);
          const url = new URL(link.url ?? '', location.origin).toString();
          shareOut.replaceChildren(
            h('input', { readOnly: true, value: url, 'aria-label': 'Share link', 'data-testid': 'share-url', onfocus: (e: Event) => (e.target as HTMLInputElement).select() }),
            h('small', {}, ` expires ${new Date(link.expires_at).toLocaleString()}`));
          await navigator.clipboard?.writeText(url).catch(() => undefined);
        } catch (error) {
          shareOut.replaceChildren(errorBox(error instanceof ApiError ? error.message : 'Could not make a share link.'));
        }
      },
    }, 'Share'), shareOut);
  }
  if (readOnly) actions.append(h('p', { class: 'muted', 'data-testid': 'read-only' }, 'Read-only shared view'));

  // Click to pick (a drag is navigation, not a pick).
  let down: { x: number; y: number } | null = null;
  stage.addEventListener('pointerdown', (e) => (down = { x: e.clientX, y: e.clientY }));
  stage.addEventListener('pointerup', (e) => {
    if (down && Math.hypot(e.clientX - down.x, e.clientY - down.y) < 5) viewer.pickClient(e.clientX, e.clientY);
    down = null;
  });

  main.classList.add('scene-page');
  main.replaceChildren(
    h('div', { class: 'stage-wrap' }, stage, legendSlot, status),
    h('aside', { class: 'sidebar', 'aria-label': 'Scene controls' },
      h('section', { class: 'panel' }, h('h2', {}, 'View'),
        h('label', { for: 'color-by' }, 'Colour by', colorSelect),
        h('label', { for: 'colormap' }, 'Colormap', mapSelect),
        rangeRow,
        h('label', { for: 'point-size' }, 'Point size', size),
        rendering.element,
        h('label', { for: 'point-budget' }, 'Point budget ', budgetLabel, budget),
        nav),
      h('section', { class: 'panel' }, h('h2', {}, 'Share and devices'), actions),
      toolsSlot,
      pickPanel,
      notes.element,
      sceneTools.bookmarksPanel(scene.id, flight),
      h('section', { class: 'panel' }, h('h2', {}, 'Box query'), boxForm),
      boxPanel),
  );
  recolor();

  debug.actions.pickAt = (x: number, y: number) => viewer.pickNdc(x, y);
  debug.actions.boxQuery = (min: number[], max: number[]) => runBox(min, max);
  debug.actions.setColorBy = (name: string | null) => {
    colorSelect.value = name ?? '';
    recolor();
  };
  debug.actions.enterVR = () => enterVR();
  debug.actions.aimedAt = (hand: XRHandedness) => xr.aimedAt(hand);
  teardown = () => {
    left = true;
    tools?.dispose();
    clearInterval(recount);
    stopHover?.();
    notes.dispose();
    rendering.dispose();
    flight.dispose();
    viewer.dispose();
  };
}

function rowTable(row: Record<string, unknown>, testid: string): HTMLElement {
  return h('table', { class: 'kv', 'data-testid': testid },
    h('tbody', {}, ...Object.entries(row).map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, formatValue(v))))));
}

function boxResult(result: BoxResult): HTMLElement {
  return h('div', { 'data-testid': 'box-result' },
    h('p', {}, h('strong', { 'data-testid': 'box-count' }, formatCount(result.count)), ' points inside'),
    h('table', { class: 'stats' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Column'), h('th', { scope: 'col' }, 'Min'), h('th', { scope: 'col' }, 'Mean'), h('th', { scope: 'col' }, 'Max'))),
      h('tbody', {}, ...Object.entries(result.stats ?? {}).map(([k, s]) =>
        h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, formatValue(s.min)), h('td', {}, formatValue(s.mean)), h('td', {}, formatValue(s.max)))))));
}

/** Min/max inputs in the scene's frame, pre-filled with the middle half of the scene's bounds. */
function boxTool(viewer: InstanceType<ViewerModule['Viewer']>, frame: string | undefined, run: (min: number[], max: number[]) => Promise<unknown>): HTMLElement {
  const inputs: HTMLInputElement[] = [];
  const grid = h('div', { class: 'box-grid' }, h('span', {}), h('span', {}, 'min'), h('span', {}, 'max'));
  const labels: HTMLElement[] = [];
  for (const axis of ['x', 'y', 'z']) {
    const lo = h('input', { type: 'number', step: 'any', 'aria-label': `${axis} min`, 'data-testid': `box-${axis}-min` });
    const hi = h('input', { type: 'number', step: 'any', 'aria-label': `${axis} max`, 'data-testid': `box-${axis}-max` });
    const label = h('span', {}, axis);
    labels.push(label);
    inputs.push(lo, hi);
    grid.append(label, lo, hi);
  }
  const note = h('p', { class: 'muted', 'data-testid': 'box-frame' });
  const runButton = h('button', { type: 'submit', 'data-testid': 'box-run' }, 'Count points in box');
  const fill = () => {
    const extent = viewer.tileExtent;
    const center = viewer.sceneCenter;
    if (!extent || !center) return false;
    const georeferenced = viewer.queryOffset === null && frame !== 'chart';
    sceneAxisNames(frame, georeferenced).forEach((name, i) => {
      labels[i]!.textContent = name;
      inputs[2 * i]!.setAttribute('aria-label', `${name} min`);
      inputs[2 * i + 1]!.setAttribute('aria-label', `${name} max`);
    });
    note.textContent = frame === 'chart' ? 'In chart-box coordinates (each axis from 0 to its size).'
      : georeferenced ? 'In east-north-up metres around the scene\'s centre.' : 'In the dataset\'s coordinates.';
    const box = defaultSceneBox(extent, center);
    const vals = [box.min[0], box.max[0], box.min[1], box.max[1], box.min[2], box.max[2]];
    // 12 digits: millimetres on map coordinates of 7 digits, and small units alike.
    inputs.forEach((input, i) => (input.value = String(Number(vals[i]!.toPrecision(12)))));
    return true;
  };
  const timer = setInterval(() => fill() && clearInterval(timer), 500);
  return h('form', {
    class: 'box-tool',
    'data-testid': 'box-form',
    onsubmit: (e: Event) => {
      e.preventDefault();
      const v = inputs.map((i) => Number(i.value));
      if (v.some((n) => !Number.isFinite(n))) return;
      const min = [Math.min(v[0]!, v[1]!), Math.min(v[2]!, v[3]!), Math.min(v[4]!, v[5]!)];
      const max = [Math.max(v[0]!, v[1]!), Math.max(v[2]!, v[3]!), Math.max(v[4]!, v[5]!)];
      void run(min, max);
    },
  }, grid, note, runButton, h('button', { type: 'button', onclick: () => viewer.showBox(null) }, 'Hide box'));
}
