/** Drag-and-drop / file-picker upload over tus, then the ingest and tiling jobs until a scene is ready. */
import { Upload } from 'tus-js-client';
import { accessToken, createScene, getDataset, listDatasets } from '../api';
import { debug } from '../debug';
import { defaultEncoding, encodingRequest, validateEncoding } from '../lib/encoding';
import type { Dataset, Job } from '../lib/types';
import { watchJob } from '../live';
import { errorBox, formatBytes, h, progressBar } from './dom';

export const DATASET_ID_HEADER = 'Spatialviz-Dataset-Id';
const CHUNK = 8 * 1024 * 1024;

export function uploadPanel(workspaceId: string, onChanged: () => void): HTMLElement {
  const list = h('ul', { class: 'uploads', 'data-testid': 'upload-list' });
  const picker = h('input', {
    type: 'file',
    multiple: true,
    id: 'upload-input',
    class: 'visually-hidden',
    'data-testid': 'upload-input',
    onchange: () => {
      for (const file of Array.from(picker.files ?? [])) list.prepend(uploadItem(workspaceId, file, onChanged));
      picker.value = '';
    },
  });
  const zone = h(
    'div',
    { class: 'dropzone', 'data-testid': 'dropzone', tabindex: 0, role: 'button', 'aria-label': 'Upload datasets: drop files here or press Enter to choose' },
    h('strong', {}, 'Drop LAS/LAZ, PLY, CSV, Parquet or GeoJSON files here'),
    h('span', {}, ' or '),
    h('label', { for: 'upload-input', class: 'link' }, 'choose files'),
    picker,
  );
  zone.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      picker.click();
    }
  });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    for (const file of Array.from(e.dataTransfer?.files ?? [])) list.prepend(uploadItem(workspaceId, file, onChanged));
  });
  return h('section', { class: 'card', 'aria-labelledby': 'upload-title' }, h('h2', { id: 'upload-title' }, 'Upload'), zone, list);
}

function uploadItem(workspaceId: string, file: File, onChanged: () => void): HTMLElement {
  const bar = progressBar('upload-progress', `Uploading ${file.name}`);
  const status = h('div', { class: 'status', 'data-testid': 'upload-status', 'aria-live': 'polite' }, 'Uploading…');
  const actions = h('div', { class: 'actions' });
  const item = h('li', { class: 'upload', 'data-testid': 'upload-item' }, h('div', { class: 'name' }, file.name, h('small', {}, ` ${formatBytes(file.size)}`)), bar.el, status, actions);
  debug.upload = { progress: 0, datasetId: null, state: 'uploading' };
  let datasetId: string | null = null;
  const upload = new Upload(file, {
    endpoint: '/api/v1/uploads',
    chunkSize: CHUNK,
    retryDelays: [0, 1000, 3000, 5000, 10000],
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    metadata: { filename: file.name, filetype: file.type || 'application/octet-stream', workspace_id: workspaceId },
    onBeforeRequest: (req) => {
      const token = accessToken();
      if (token) req.setHeader('Authorization', `Bearer ${token}`);
    },
    onAfterResponse: (_req, res) => {
      const id = res.getHeader(DATASET_ID_HEADER);
      if (id) datasetId = id;
    },
    onProgress: (sent, total) => {
      const fraction = total ? sent / total : 0;
      bar.set(fraction, `${formatBytes(sent)} of ${formatBytes(total)}`);
      debug.upload.progress = fraction;
    },
    onError: (error) => {
      debug.upload.state = 'failed';
      status.replaceChildren(errorBox(`Upload failed: ${error.message}`, 'upload-error'));
      actions.replaceChildren(h('button', { onclick: () => start(), 'data-testid': 'upload-retry' }, 'Retry'));
    },
    onSuccess: () => {
      debug.upload.state = 'uploaded';
      void afterUpload(file, workspaceId, () => datasetId, status, actions, onChanged);
    },
  });
  const start = () => {
    status.textContent = 'Uploading…';
    actions.replaceChildren(h('button', { onclick: () => void upload.abort(), 'data-testid': 'upload-pause' }, 'Pause'));
    void upload.findPreviousUploads().then((previous) => {
      if (previous[0]) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  };
  start();
  return item;
}

async function afterUpload(
  file: File,
  workspaceId: string,
  datasetIdFromHeader: () => string | null,
  status: HTMLElement,
  actions: HTMLElement,
  onChanged: () => void,
): Promise<void> {
  actions.replaceChildren();
  try {
    const id = datasetIdFromHeader() ?? (await findDatasetByName(workspaceId, file.name));
    if (!id) throw new Error(`The server did not say which dataset the upload became (no ${DATASET_ID_HEADER} header).`);
    debug.upload.datasetId = id;
    onChanged();
    const dataset = await getDataset(id);
    const finished = await followDataset(dataset, status);
    onChanged();
    if (finished) actions.replaceChildren(h('a', { href: `/scenes/${finished}`, 'data-link': true, class: 'button primary', 'data-testid': 'open-scene' }, 'Open scene'));
  } catch (error) {
    status.replaceChildren(errorBox((error as Error).message, 'upload-error'));
  }
}

async function findDatasetByName(workspaceId: string, name: string): Promise<string | null> {
  const page = await listDatasets(workspaceId);
  return page.items.find((d) => d.name === name)?.id ?? null;
}

/** Ingest job → a scene with the default encoding → tiling job. Returns the ready scene's id. */
export async function followDataset(dataset: Dataset, status: HTMLElement): Promise<string | null> {
  const bar = progressBar('job-progress', `Processing ${dataset.name}`);
  status.replaceChildren(bar.el);
  const show = (label: string) => (job: Job) => {
    debug.jobs[job.id] = { status: job.status, progress: job.progress, stage: job.stage };
    bar.set(job.progress, `${label}: ${job.stage ?? job.status} ${Math.round(job.progress * 100)}%`);
  };
  if (dataset.ingest_job_id) {
    const job = await watchJob(dataset.ingest_job_id, show('Ingest'));
    if (job.status !== 'succeeded') return failed(status, 'Ingest', job);
  }
  const ready = await getDataset(dataset.id);
  const existing = ready.scene_ids[0];
  if (existing) {
    status.replaceChildren(h('span', { 'data-testid': 'scene-ready' }, 'Scene ready'));
    return existing;
  }
  const columns = ready.schema?.columns ?? [];
  const form = defaultEncoding(columns);
  const problems = validateEncoding(form, columns);
  if (Object.keys(problems).length) {
    status.replaceChildren(
      h('span', {}, 'Ingested. Choose which columns to plot: '),
      h('a', { href: `/datasets/${ready.id}`, 'data-link': true, 'data-testid': 'choose-encoding' }, 'make a scene'),
    );
    return null;
  }
  const created = await createScene(encodingRequest(ready.id, form, columns));
  const job = await watchJob(created.job.id, show('Tiling'));
  if (job.status !== 'succeeded') return failed(status, 'Tiling', job);
  status.replaceChildren(h('span', { 'data-testid': 'scene-ready' }, 'Scene ready'));
  return created.scene.id;
}

function failed(status: HTMLElement, what: string, job: Job): null {
  const reason = job.error_message ?? job.error_code ?? job.status;
  status.replaceChildren(errorBox(`${what} ${job.status}: ${reason}`, 'job-error'));
  return null;
}
