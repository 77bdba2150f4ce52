/**
 * The annotations panel of the scene page: notes pinned to points, shared live with everyone
 * who can read the scene (the `annotations:<scene_id>` channel). Place one by arming "Place
 * note" and picking a point: a click on desktop, the controller's select in VR (type the
 * note before entering VR: a headset has no keyboard here).
 */
import { ApiError, API, getShareToken, isSignedIn, me, request } from '../api';
import { debug, recordError } from '../debug';
import {
  annotationChannel, checkText, diffAnnotations, fromStored, isOwn, labelText, MAX_TEXT, parseAnnotationsMessage, toStored,
  type Annotation,
} from '../lib/annotations';
import type { Vec3 } from '../lib/sceneframe';
import { subscribe } from '../live';
import type { CameraFlight } from '../viewer/flight';
import { AnnotationLabels } from '../viewer/labels';
import type { PickHit, Viewer } from '../viewer/viewer';
import { errorBox, h } from './dom';

const listAnnotations = (sceneId: string) => request<Annotation[]>('GET', `${API}/scenes/${sceneId}/annotations`);
const addAnnotation = (sceneId: string, text: string, position: Vec3, rowId: number | null) =>
  request<Annotation>('POST', `${API}/scenes/${sceneId}/annotations`, { json: { text, position, row_id: rowId } });
const removeAnnotation = (sceneId: string, id: string) => request<null>('DELETE', `${API}/scenes/${sceneId}/annotations/${id}`);

export function annotationsPanel(sceneId: string, workspaceId: string, viewer: Viewer, flight: CameraFlight, readOnly: boolean): { element: HTMLElement; dispose: () => void } {
  const labels = new AnnotationLabels(viewer.offset);
  let items: Annotation[] = [];
  let drawn: Annotation[] = [];
  let userId: string | null = null;
  let armed = false;
  let canWrite = !readOnly && isSignedIn();

  const list = h('ul', { class: 'annotation-list', 'data-testid': 'annotation-list' });
  const message = h('div', { 'aria-live': 'polite', 'data-testid': 'annotation-message' });
  const input = h('input', { type: 'text', maxLength: MAX_TEXT, placeholder: 'Note text', 'aria-label': 'Note text', 'data-testid': 'annotation-text' });
  const place = h('button', { type: 'button', 'aria-pressed': 'false', 'data-testid': 'annotation-place' }, 'Place note');
  const readOnlyNote = h('p', { class: 'muted', 'data-testid': 'annotation-read-only' }, 'Notes on this scene (read-only).');
  const form = canWrite ? h('div', { class: 'annotation-form' }, input, place) : readOnlyNote;

  const offset = (): Vec3 | null | undefined => viewer.queryOffset;
  const setArmed = (on: boolean) => {
    armed = on;
    place.setAttribute('aria-pressed', String(on));
    place.textContent = on ? 'Pick a point… (Esc to cancel)' : 'Place note';
    viewer.renderer.domElement.style.cursor = on ? 'crosshair' : '';
  };

  /** Labels follow the list once the tileset frame is known (the root tileset loaded). */
  const drawLabels = () => {
    const frame = offset();
    if (frame === undefined) return;
    const { added, removed } = diffAnnotations(drawn, items);
    removed.forEach((id) => labels.remove(id));
    added.forEach((a) => labels.set(a.id, labelText(a.text), fromStored(a.position, frame)));
    if (added.length && !viewer.bounds.isEmpty()) labels.setPinSize(viewer.bounds.getSize(viewer.bounds.min.clone()).length() * 0.004);
    drawn = items;
  };

  const render = () => {
    debug.annotations = items.map((a) => ({ id: a.id, text: a.text }));
    list.replaceChildren(...items.map((a) => {
      const go = h('button', { type: 'button', class: 'link', 'data-testid': 'annotation-go', title: 'Fly to this note', onclick: () => void flyTo(a) }, a.text);
      const who = h('small', { class: 'muted' }, a.author_name ? ` — ${a.author_name}` : '');
      const remove = canWrite && isOwn(a, userId)
        ? h('button', { type: 'button', class: 'small', 'data-testid': 'annotation-delete', 'aria-label': `Delete note “${labelText(a.text)}”`, onclick: () => void drop(a) }, 'Delete')
        : null;
      return h('li', { 'data-testid': 'annotation-item', 'data-id': a.id }, go, who, remove);
    }));
    if (!items.length) list.append(h('li', { class: 'muted' }, 'No notes yet.'));
    drawLabels();
  };

  const apply = (next: Annotation[]) => {
    items = next;
    render();
  };

  const flyTo = async (a: Annotation) => {
    const frame = offset();
    if (frame === undefined) return;
    await flight.flyToPoint(fromStored(a.position, frame));
    debug.lastFlight = { kind: 'annotation', id: a.id };
  };

  const drop = async (a: Annotation) => {
    try {
      await removeAnnotation(sceneId, a.id);
      apply(items.filter((x) => x.id !== a.id)); // the channel says so too; this is quicker
    } catch (error) {
      message.replaceChildren(errorBox(error instanceof ApiError ? error.message : 'Could not delete the note.', 'annotation-error'));
    }
  };

  const onPick = (hit: PickHit | null) => {
    if (!armed || !hit) return;
    const checked = checkText(input.value);
    const frame = offset();
    setArmed(false);
    if ('error' in checked) {
      message.replaceChildren(errorBox(checked.error, 'annotation-error'));
      return;
    }
    if (frame === undefined) return;
    const position = toStored([hit.point.x, hit.point.y, hit.point.z], frame);
    void (async () => {
      try {
        const created = await addAnnotation(sceneId, checked.text, position, hit.rowId);
        if (!items.some((a) => a.id === created.id)) apply([...items, created]);
        input.value = '';
        message.replaceChildren();
      } catch (error) {
        message.replaceChildren(errorBox(error instanceof ApiError ? error.message : 'Could not save the note.', 'annotation-error'));
      }
    })();
  };
  viewer.pickListeners.add(onPick);
  const waitForFrame = () => {
    if (offset() !== undefined && drawn !== items) drawLabels();
  };
  viewer.frameHooks.add(waitForFrame);

  place.addEventListener('click', () => {
    const checked = checkText(input.value);
    if ('error' in checked) {
      message.replaceChildren(errorBox(checked.error, 'annotation-error'));
      return;
    }
    message.replaceChildren();
    setArmed(!armed);
  });
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape' && armed) setArmed(false);
  };
  window.addEventListener('keydown', onKey);

  let unsubscribe: (() => void) | null = null;
  void (async () => {
    try {
      apply(await listAnnotations(sceneId));
    } catch (error) {
      const text = error instanceof ApiError ? error.message : 'Could not load the notes.';
      recordError(text);
      message.replaceChildren(errorBox(text, 'annotation-error'));
    }
    if (isSignedIn() || getShareToken()) {
      // Live: each message is the scene's whole list (a share link follows its own scene's
      // channel read-only, without author names).
      unsubscribe = subscribe(annotationChannel(sceneId), (m) => {
        const parsed = m.type === 'unknown' ? parseAnnotationsMessage(m.raw) : null;
        if (parsed && parsed.sceneId === sceneId) apply(parsed.annotations);
      });
    }
    if (isSignedIn()) {
      try {
        const who = await me();
        userId = who.id;
        // Viewers read; the form is for editors and owners (the server decides either way).
        const role = (who.workspaces ?? []).find((w) => w.id === workspaceId)?.role;
        if (role === 'viewer') {
          canWrite = false;
          form.replaceWith(readOnlyNote);
        }
        render();
      } catch {
        // Without knowing who we are, no delete buttons: the server would decide anyway.
      }
    }
  })();

  debug.actions.placeAnnotation = (text: string) => {
    input.value = text;
    setArmed(true);
  };
  debug.actions.cameraPose = () => flight.pose();
  debug.actions.flyToAnnotation = (id: string) => {
    const a = items.find((x) => x.id === id);
    return a ? flyTo(a) : Promise.resolve();
  };

  const element = h('section', { class: 'panel', 'data-testid': 'annotations-panel' },
    h('h2', {}, 'Notes'),
    form,
    message,
    list);
  render();
  return {
    element,
    dispose: () => {
      unsubscribe?.();
      viewer.pickListeners.delete(onPick);
      viewer.frameHooks.delete(waitForFrame);
      window.removeEventListener('keydown', onKey);
      labels.dispose();
      delete debug.actions.placeAnnotation;
      delete debug.actions.flyToAnnotation;
      delete debug.actions.cameraPose;
    },
  };
}
