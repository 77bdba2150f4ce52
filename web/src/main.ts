/** Boots the client: debug hook, optional WebXR emulator, routing, and the view for each route. */
import './styles.css';
import { isSignedIn, onAuthChange, setShareToken } from './api';
import { debug, installDebug, recordError } from './debug';
import { parseRoute, startRouter, navigate } from './router';
import { authView } from './ui/auth';
import { datasetView } from './ui/dataset';
import { errorBox, h } from './ui/dom';
import { currentUser, header, homeView } from './ui/home';
import { leaveScene, sceneView } from './ui/scene';

installDebug();
const app = document.getElementById('app')!;

async function render(): Promise<void> {
  const route = parseRoute(location.pathname, location.search);
  debug.route = location.pathname;
  debug.signedIn = isSignedIn();
  if (route.name !== 'scene') leaveScene();
  setShareToken(route.name === 'scene' ? route.share : null);

  if (route.name === 'login' || route.name === 'register') {
    app.replaceChildren(header(null, () => undefined), h('main', { id: 'main' }, authView(route.name)));
    return;
  }
  const shared = route.name === 'scene' && route.share;
  if (!isSignedIn() && !shared) {
    navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, true);
    return;
  }
  let user = null;
  if (isSignedIn()) {
    try {
      user = await currentUser();
    } catch (error) {
      if (!isSignedIn()) return void navigate('/login', true);
      recordError(String(error));
    }
  }
  const top = header(user, () => void render());
  switch (route.name) {
    case 'home':
      app.replaceChildren(top, user ? homeView(user) : errorBox('Could not load your account.'));
      break;
    case 'dataset':
      app.replaceChildren(top, datasetView(route.id));
      break;
    case 'scene':
      app.replaceChildren(top, sceneView(route.id));
      break;
    default:
      app.replaceChildren(top, h('main', { id: 'main' }, h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '/', 'data-link': true }, 'Back to datasets'))));
  }
}

async function boot(): Promise<void> {
  if (new URLSearchParams(location.search).get('xr-emulator') === '1') {
    try {
      const { installEmulator } = await import('./viewer/xr');
      await installEmulator();
    } catch (error) {
      recordError(`xr-emulator: ${(error as Error).message}`);
    }
  }
  onAuthChange(() => {
    debug.signedIn = isSignedIn();
  });
  startRouter(() => void render());
}

void boot();
