/** The signed-in home: workspace switcher, datasets with their status, the upload panel. */
import { ApiError, listDatasets, me, saveWorkspace, savedWorkspace, signOut } from '../api';
import { debug } from '../debug';
import type { Dataset, Me } from '../lib/types';
import { navigate } from '../router';
import { clear, errorBox, formatCount, h } from './dom';
import { uploadPanel } from './upload';

let cachedMe: Me | null = null;

export async function currentUser(force = false): Promise<Me> {
  if (!cachedMe || force) cachedMe = await me();
  return cachedMe;
}

export function forgetUser(): void {
  cachedMe = null;
}

export function currentWorkspace(user: Me): string | null {
  const saved = savedWorkspace();
  const found = user.workspaces?.find((w) => w.id === saved) ?? user.workspaces?.[0];
  return found?.id ?? null;
}

export function header(user: Me | null, onWorkspace: () => void): HTMLElement {
  const nav = h('nav', { class: 'topbar', 'aria-label': 'Main' }, h('a', { href: '/', 'data-link': true, class: 'brand' }, 'Spatialviz'));
  if (!user) return nav;
  const workspaceId = currentWorkspace(user);
  const select = h(
    'select',
    {
      'data-testid': 'workspace-select',
      'aria-label': 'Workspace',
      onchange: () => {
        saveWorkspace(select.value);
        debug.workspaceId = select.value;
        onWorkspace();
      },
    },
    ...(user.workspaces ?? []).map((w) => h('option', { value: w.id, selected: w.id === workspaceId }, `${w.name} (${w.role})`)),
  );
  nav.append(
    h('label', { class: 'workspace' }, h('span', { class: 'visually-hidden' }, 'Workspace'), select),
    h('span', { class: 'user', 'data-testid': 'user-email' }, user.display_name ?? user.email),
    h('button', {
      'data-testid': 'sign-out',
      onclick: async () => {
        await signOut();
        forgetUser();
        navigate('/login');
      },
    }, 'Sign out'),
  );
  return nav;
}

export function homeView(user: Me): HTMLElement {
  const workspaceId = currentWorkspace(user);
  debug.workspaceId = workspaceId;
  const main = h('main', { id: 'main' });
  if (!workspaceId) {
    main.append(errorBox('You are not a member of any workspace.'));
    return main;
  }
  const table = h('tbody', { 'data-testid': 'dataset-rows' });
  const note = h('div', { 'aria-live': 'polite' });
  const more = h('button', { hidden: true, 'data-testid': 'datasets-more' }, 'Load more');
  let cursor: string | null = null;
  const load = async (reset: boolean) => {
    try {
      const page = await listDatasets(workspaceId, reset ? null : cursor);
      if (reset) clear(table);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      for (const d of page.items) table.append(datasetRow(d));
      note.replaceChildren(page.items.length === 0 && reset ? h('p', { 'data-testid': 'datasets-empty' }, 'No datasets yet: upload one above.') : '');
    } catch (error) {
      note.replaceChildren(errorBox(error instanceof ApiError ? error.message : 'Could not load datasets.'));
    }
  };
  more.addEventListener('click', () => void load(false));
  main.append(
    uploadPanel(workspaceId, () => void load(true)),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'datasets-title' },
      h('h2', { id: 'datasets-title' }, 'Datasets'),
      h('table', { class: 'datasets', 'data-testid': 'datasets' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Format'), h('th', { scope: 'col' }, 'Rows'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Scenes'))),
        table),
      note,
      more,
    ),
  );
  void load(true);
  return main;
}

function datasetRow(d: Dataset): HTMLElement {
  return h(
    'tr',
    { 'data-testid': 'dataset-row', 'data-dataset-id': d.id, 'data-status': d.status },
    h('td', {}, h('a', { href: `/datasets/${d.id}`, 'data-link': true }, d.name)),
    h('td', {}, d.format ?? '—'),
    h('td', { class: 'num' }, formatCount(d.row_count)),
    h('td', {}, h('span', { class: `badge ${d.status}`, 'data-testid': 'dataset-status' }, d.status)),
    h('td', {}, ...d.scene_ids.map((id, i) => h('a', { href: `/scenes/${id}`, 'data-link': true, class: 'scene-link', 'data-testid': 'scene-link' }, `Scene ${i + 1}`))),
  );
}
