/** A tiny element builder: h('button', { onclick, 'data-testid': 'x' }, 'Label'). */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value as EventListener);
    } else if (key === 'class') {
      el.className = attributeText(value);
    } else if (key === 'style' && typeof value === 'object') {
      Object.assign(el.style, value);
    } else if (key in el && !key.includes('-') && key !== 'list') {
      (el as unknown as Record<string, unknown>)[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : attributeText(value));
    }
  }
  append(el, ...children);
  return el;
}

/** An attribute's text: strings and numbers as they are, anything else as JSON. */
function attributeText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function progressBar(testid: string, label: string): { el: HTMLElement; set: (fraction: number, text?: string) => void } {
  const bar = h('progress', { max: 1, value: 0, 'data-testid': testid, 'aria-label': label });
  const text = h('span', { class: 'progress-text', 'aria-live': 'polite' });
  const el = h('div', { class: 'progress' }, bar, text);
  return {
    el,
    set(fraction, caption) {
      bar.value = Math.min(1, Math.max(0, fraction));
      text.textContent = caption ?? `${Math.round(fraction * 100)}%`;
    },
  };
}

export function formatCount(n: number | null | undefined): string {
  return typeof n === 'number' ? n.toLocaleString('en-US') : '—';
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function errorBox(message: string, testid = 'error'): HTMLElement {
  return h('p', { class: 'error', role: 'alert', 'data-testid': testid }, message);
}
