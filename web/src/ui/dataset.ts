/** A dataset: schema, status, live ingest progress, and the form that makes a scene from it. */
import { ApiError, createScene, getDataset } from '../api';
import { debug } from '../debug';
import { COLORMAPS } from '../lib/colormap';
import { crsLabel } from '../lib/crs';
import { defaultEncoding, encodingRequest, type EncodingForm, isNumeric, validateEncoding } from '../lib/encoding';
import type { Column, Dataset, Job } from '../lib/types';
import { watchJob } from '../live';
import { navigate } from '../router';
import { errorBox, formatCount, h, progressBar } from './dom';

export function datasetView(id: string): HTMLElement {
  const main = h('main', { id: 'main' }, h('p', {}, 'Loading…'));
  void (async () => {
    try {
      render(main, await getDataset(id));
    } catch (error) {
      main.replaceChildren(errorBox(error instanceof ApiError ? error.message : 'Could not load the dataset.'));
    }
  })();
  return main;
}

function render(main: HTMLElement, d: Dataset): void {
  const columns = d.schema?.columns ?? [];
  const progress = h('div', { 'aria-live': 'polite' });
  main.replaceChildren(...[
    h('section', { class: 'card' },
      h('h1', {}, d.name),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Status'), h('dd', {}, h('span', { class: `badge ${d.status}`, 'data-testid': 'dataset-status' }, d.status)),
        h('dt', {}, 'Format'), h('dd', {}, d.format ?? '—'),
        h('dt', {}, 'Rows'), h('dd', {}, formatCount(d.row_count)),
        h('dt', {}, 'CRS'), h('dd', { 'data-testid': 'dataset-crs' }, crsLabel(d.crs))),
      progress,
      d.scene_ids.length ? h('p', {}, 'Scenes: ', ...d.scene_ids.map((s, i) => h('a', { href: `/scenes/${s}`, 'data-link': true, class: 'scene-link', 'data-testid': 'scene-link' }, `Scene ${i + 1}`))) : null),
    columns.length ? h('section', { class: 'card' }, h('h2', {}, 'Columns'), columnTable(columns)) : null,
    columns.length ? encodingForm(d, columns) : null,
  ].filter((x): x is HTMLElement => x !== null));
  if (d.ingest_job_id && !['ready', 'failed', 'ingested'].includes(d.status)) {
    const bar = progressBar('job-progress', 'Ingest');
    progress.replaceChildren(bar.el);
    void watchJob(d.ingest_job_id, (job: Job) => {
      debug.jobs[job.id] = { status: job.status, progress: job.progress, stage: job.stage };
      bar.set(job.progress, `Ingest: ${job.stage ?? job.status}`);
    }).then(async (job) => {
      if (job.status === 'succeeded') render(main, await getDataset(d.id));
      else progress.replaceChildren(errorBox(`Ingest ${job.status}: ${job.error_message ?? job.error_code ?? ''}`, 'job-error'));
    });
  }
}

function columnTable(columns: Column[]): HTMLElement {
  return h('table', { class: 'columns' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Column'), h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Role'), h('th', { scope: 'col' }, 'Unit'))),
    h('tbody', {}, ...columns.map((c) => h('tr', {}, h('td', {}, c.name), h('td', {}, c.type), h('td', {}, c.role ?? ''), h('td', {}, c.unit ?? '')))));
}

function encodingForm(d: Dataset, columns: Column[]): HTMLElement {
  const initial = defaultEncoding(columns);
  const numeric = columns.filter(isNumeric).map((c) => c.name);
  const all = columns.map((c) => c.name);
  const fields: Record<keyof EncodingForm, { select: HTMLSelectElement; hint: HTMLElement }> = {} as never;
  const make = (key: keyof EncodingForm, label: string, options: string[], blank?: string) => {
    const select = h('select', { id: `enc-${key}`, name: key, 'data-testid': `encoding-${key}` },
      blank ? h('option', { value: '' }, blank) : null,
      ...options.map((o) => h('option', { value: o, selected: initial[key] === o }, o)));
    const hint = h('small', { class: 'field-error', id: `enc-${key}-error` });
    select.setAttribute('aria-describedby', hint.id);
    fields[key] = { select, hint };
    return h('label', { for: select.id }, label, select, hint);
  };
  const message = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'encoding-submit' }, 'Make scene');
  return h('form', {
    class: 'card encoding',
    'data-testid': 'encoding-form',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      const form = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.select.value])) as unknown as EncodingForm;
      const errors = validateEncoding(form, columns);
      for (const [k, f] of Object.entries(fields)) f.hint.textContent = errors[k as keyof EncodingForm] ?? '';
      if (Object.keys(errors).length) return;
      submit.disabled = true;
      try {
        const created = await createScene(encodingRequest(d.id, form, columns));
        const bar = progressBar('job-progress', 'Tiling');
        message.replaceChildren(bar.el);
        const job = await watchJob(created.job.id, (j) => {
          debug.jobs[j.id] = { status: j.status, progress: j.progress, stage: j.stage };
          bar.set(j.progress, `Tiling: ${j.stage ?? j.status}`);
        });
        if (job.status === 'succeeded') navigate(`/scenes/${created.scene.id}`);
        else message.replaceChildren(errorBox(`Tiling ${job.status}: ${job.error_message ?? job.error_code ?? ''}`, 'job-error'));
      } catch (error) {
        message.replaceChildren(errorBox(error instanceof ApiError ? error.message : 'Could not create the scene.'));
        if (error instanceof ApiError) for (const [k, v] of Object.entries(error.problem.fields)) if (k in fields) fields[k as keyof EncodingForm].hint.textContent = v;
      } finally {
        submit.disabled = false;
      }
    },
  },
  h('h2', {}, 'Make a scene'),
  h('div', { class: 'grid' },
    make('x', 'X', numeric), make('y', 'Y', numeric), make('z', 'Z', numeric),
    make('color', 'Colour by', all, 'Original colours'), make('colormap', 'Colormap', [...COLORMAPS]),
    make('size', 'Size by', numeric, 'Uniform')),
  message, submit);
}
