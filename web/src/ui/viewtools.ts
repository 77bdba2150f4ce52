/**
 * View tools of the scene page: eye-dome lighting, point size modes and camera bookmarks
 * (saved in this browser, per scene: lib/bookmarks.ts says why).
 */
import { debug } from '../debug';
import { loadBookmarks, MAX_NAME, removeBookmark, saveBookmark, type Bookmark } from '../lib/bookmarks';
import { POINT_SIZE_MODES, type PointSizeMode } from '../lib/pointsize';
import { EyeDomeLighting } from '../viewer/edl';
import type { CameraFlight } from '../viewer/flight';
import { PointSizing } from '../viewer/pointsizing';
import type { Viewer } from '../viewer/viewer';
import { h } from './dom';
import '../tools.css';

const MODE_LABELS: Record<PointSizeMode, string> = { fixed: 'Fixed', attenuated: 'Attenuated', adaptive: 'Adaptive' };

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** EDL toggle and size mode: controls for the View panel, and what the size slider drives. */
export function renderingControls(viewer: Viewer): { element: HTMLElement; setBaseSize: (px: number) => void; dispose: () => void } {
  const edl = new EyeDomeLighting();
  const sizing = new PointSizing(viewer);
  const report = () => {
    const { mode, size } = sizing.current;
    debug.viewTools = { edl: viewer.renderPass !== null, sizeMode: mode, pointSize: size };
  };
  const toggle = h('input', { type: 'checkbox', id: 'edl', 'data-testid': 'edl-toggle' });
  toggle.addEventListener('change', () => {
    viewer.renderPass = toggle.checked ? edl.render : null;
    report();
  });
  const mode = h('select', { id: 'size-mode', 'data-testid': 'size-mode' },
    ...POINT_SIZE_MODES.map((m) => h('option', { value: m }, MODE_LABELS[m])));
  mode.addEventListener('change', () => {
    sizing.setMode(mode.value as PointSizeMode);
    report();
  });
  report();
  const element = h('div', { class: 'render-tools' },
    h('label', { for: 'edl' }, toggle, ' Eye-dome lighting'),
    h('label', { for: 'size-mode' }, 'Point size mode', mode));
  return {
    element,
    setBaseSize: (px) => {
      sizing.setBase(px);
      report();
    },
    dispose: () => {
      viewer.renderPass = null;
      sizing.dispose();
      edl.dispose();
    },
  };
}

/** Named views of this scene: save the current one, fly back to any. */
export function bookmarksPanel(sceneId: string, flight: CameraFlight): HTMLElement {
  const store = storage();
  let list: Bookmark[] = store ? loadBookmarks(store, sceneId) : [];
  const items = h('ul', { class: 'bookmark-list', 'data-testid': 'bookmark-list' });
  const name = h('input', { type: 'text', maxLength: MAX_NAME, placeholder: 'View name', 'aria-label': 'View name', 'data-testid': 'bookmark-name' });
  const render = () => {
    items.replaceChildren(...list.map((b) => h('li', { 'data-testid': 'bookmark-item' },
      h('button', { type: 'button', class: 'link', 'data-testid': 'bookmark-go', onclick: async () => {
        await flight.flyTo(b);
        debug.lastFlight = { kind: 'bookmark', id: b.name };
      } }, b.name),
      h('button', { type: 'button', class: 'small', 'aria-label': `Forget view “${b.name}”`, onclick: () => {
        if (store) list = removeBookmark(store, sceneId, list, b.name);
        else list = list.filter((x) => x.name !== b.name);
        render();
      } }, 'Forget'))));
    if (!list.length) items.append(h('li', { class: 'muted' }, 'No saved views.'));
  };
  const save = h('button', { type: 'button', 'data-testid': 'bookmark-save', onclick: () => {
    const bookmark = { name: name.value, ...flight.pose() };
    list = store ? saveBookmark(store, sceneId, list, bookmark) : [...list, { ...bookmark, name: name.value.trim() || `View ${list.length + 1}` }];
    name.value = '';
    render();
  } }, 'Save view');
  render();
  return h('section', { class: 'panel', 'data-testid': 'bookmarks-panel' }, h('h2', {}, 'Views'), h('div', { class: 'annotation-form' }, name, save), items);
}
