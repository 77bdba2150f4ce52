/** History-API routing. The top-level segments match CLIENT_ROUTES in src/spatialviz/web.py. */
export type Route =
  | { name: 'home' }
  | { name: 'login' }
  | { name: 'register' }
  | { name: 'dataset'; id: string }
  | { name: 'scene'; id: string; share: string | null }
  | { name: 'not-found'; path: string };

export function parseRoute(pathname: string, search: string): Route {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(search);
  if (parts.length === 0) return { name: 'home' };
  if (parts[0] === 'login' && parts.length === 1) return { name: 'login' };
  if (parts[0] === 'register' && parts.length === 1) return { name: 'register' };
  if (parts[0] === 'datasets' && parts.length === 1) return { name: 'home' };
  if (parts[0] === 'upload' && parts.length === 1) return { name: 'home' };
  if (parts[0] === 'datasets' && parts.length === 2) return { name: 'dataset', id: parts[1]! };
  if (parts[0] === 'scenes' && parts.length === 2) return { name: 'scene', id: parts[1]!, share: params.get('share') };
  return { name: 'not-found', path: pathname };
}

let onChange: (() => void) | null = null;

export function startRouter(render: () => void): void {
  onChange = render;
  window.addEventListener('popstate', render);
  document.addEventListener('click', (event) => {
    const a = (event.target as Element | null)?.closest?.('a[data-link]');
    if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(a.getAttribute('href') ?? '/');
  });
  render();
}

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  onChange?.();
}
