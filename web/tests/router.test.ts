import { describe, expect, it, vi } from 'vitest';
import { navigate, parseRoute, startRouter } from '../src/router';

describe('parseRoute', () => {
  it.each([
    ['/', '', { name: 'home' }],
    ['/datasets', '', { name: 'home' }],
    ['/upload', '', { name: 'home' }],
    ['/login', '', { name: 'login' }],
    ['/register/', '', { name: 'register' }],
    ['/datasets/d-1', '', { name: 'dataset', id: 'd-1' }],
    ['/scenes/s-1', '', { name: 'scene', id: 's-1', share: null }],
    ['/scenes/s-1', '?share=tok&x=1', { name: 'scene', id: 's-1', share: 'tok' }],
    ['/scenes/a%20b', '', { name: 'scene', id: 'a b', share: null }],
    ['/scenes', '', { name: 'not-found', path: '/scenes' }],
    ['/datasets/d/extra', '', { name: 'not-found', path: '/datasets/d/extra' }],
    ['/login/x', '', { name: 'not-found', path: '/login/x' }],
  ])('%s%s', (path, search, route) => {
    expect(parseRoute(path, search)).toEqual(route);
  });
});

describe('navigate', () => {
  it('pushes (or replaces) the history entry and renders; popstate renders too', () => {
    const entries: [string, string][] = [];
    const window = new EventTarget();
    Object.assign(globalThis, {
      window,
      document: new EventTarget(),
      history: {
        pushState: (_s: unknown, _t: string, url: string) => entries.push(['push', url]),
        replaceState: (_s: unknown, _t: string, url: string) => entries.push(['replace', url]),
      },
    });
    const render = vi.fn();
    startRouter(render);
    expect(render).toHaveBeenCalledTimes(1);
    navigate('/datasets/d1');
    navigate('/login', true);
    expect(entries).toEqual([['push', '/datasets/d1'], ['replace', '/login']]);
    expect(render).toHaveBeenCalledTimes(3);
    window.dispatchEvent(new Event('popstate'));
    expect(render).toHaveBeenCalledTimes(4);
  });
});
