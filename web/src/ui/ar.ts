/**
 * The "View in AR" control: starts the USDZ export, follows its job, then offers the file
 * (an AR Quick Look link on Apple devices, a download elsewhere) or says why it failed.
 */
import { accessToken, refresh, usdzUrl } from '../api';
import { arOffer, exportAnswer, formatBytes } from '../lib/ar';
import { watchJob } from '../live';
import { errorBox, h } from './dom';

const POLL_MS = 3000;
const MAX_POLLS = 400; // 20 minutes of a share-link viewer waiting for an export

async function fetchExport(url: string, retried = false): Promise<Response> {
  const token = accessToken();
  const response = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (response.status === 401 && !retried && token && (await refresh())) return fetchExport(url, true);
  return response;
}

async function bodyOf(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** Resolves with the USDZ file, or throws an Error whose message is for the user. */
async function exportUsdz(sceneId: string, onProgress: (text: string) => void): Promise<Blob> {
  const url = usdzUrl(sceneId);
  for (let attempt = 0; attempt < MAX_POLLS; attempt++) {
    const response = await fetchExport(url);
    const answer = exportAnswer(response.status, response.status === 200 ? null : await bodyOf(response));
    if (answer.kind === 'file') return response.blob();
    if (answer.kind === 'error') throw new Error(answer.message);
    onProgress('Preparing the AR model…');
    if (accessToken()) {
      const job = await watchJob(answer.jobId, (j) => onProgress(`Preparing the AR model… ${Math.round(j.progress * 100)} %`));
      if (job.status !== 'succeeded') throw new Error(`The AR export ${job.status}: ${job.error_message ?? job.error_code ?? 'no reason given'}.`);
    } else {
      // A share-link viewer cannot read jobs: ask for the export again after a while.
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
  throw new Error('The AR export is taking too long; try again later.');
}

export function arControl(sceneId: string): HTMLElement {
  const out = h('div', { 'aria-live': 'polite', 'data-testid': 'ar-result' });
  let objectUrl: string | null = null;
  const button = h('button', { type: 'button', 'data-testid': 'view-in-ar' }, 'View in AR');
  button.addEventListener('click', () => {
    button.disabled = true;
    out.replaceChildren(h('p', { class: 'muted', 'data-testid': 'ar-status' }, 'Starting the AR export…'));
    const status = out.firstElementChild as HTMLElement;
    void exportUsdz(sceneId, (text) => (status.textContent = text))
      .then((blob) => {
        if (objectUrl) URL.revokeObjectURL(objectUrl);
        objectUrl = URL.createObjectURL(new Blob([blob], { type: 'model/vnd.usdz+zip' }));
        const size = formatBytes(blob.size);
        out.replaceChildren(arOffer(navigator.userAgent, navigator.maxTouchPoints) === 'quick-look'
          // AR Quick Look requires an <img> as the first child of a rel="ar" link.
          ? h('a', { href: objectUrl, rel: 'ar', class: 'button', 'data-testid': 'ar-quick-look' },
            h('img', { src: '/favicon.svg', alt: '', width: 16, height: 16 }), ` Open in AR (${size})`)
          : h('a', { href: objectUrl, download: 'scene.usdz', class: 'button', 'data-testid': 'ar-download' },
            `Download the AR model (USDZ, ${size})`));
      })
      .catch((error: unknown) => out.replaceChildren(errorBox((error as Error).message || 'The AR export failed.', 'ar-error')))
      .finally(() => (button.disabled = false));
  });
  return h('div', { class: 'ar' }, button, out);
}
