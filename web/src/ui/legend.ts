/** Renders a LegendModel. */
import type { LegendModel } from '../lib/legend';
import { h } from './dom';

/** `onToggle`: a categorical legend gets a checkbox per category (shown or hidden). */
export function legendElement(model: LegendModel, onToggle?: (code: number, shown: boolean) => void): HTMLElement {
  const box = h('figure', { class: 'legend', 'data-testid': 'legend', 'data-kind': model.kind, 'aria-label': `Legend: ${model.title}` });
  box.append(h('figcaption', {}, model.title));
  if (model.kind === 'continuous') {
    const bar = h('div', { class: 'legend-bar', role: 'img', 'aria-label': `${model.colormap} from ${model.min} to ${model.max}` });
    bar.style.background = model.gradient;
    const ticks = h('div', { class: 'legend-ticks' });
    for (const t of model.ticks) {
      const tick = h('span', {}, t.label);
      tick.style.left = `${(t.position * 100).toFixed(2)}%`;
      ticks.append(tick);
    }
    box.append(bar, ticks);
  } else if (model.kind === 'categorical') {
    const list = h('ul', { class: 'legend-items' });
    for (const item of model.items) {
      const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
      swatch.style.background = item.color;
      const count = item.count === undefined ? null : h('span', { class: 'count', 'data-testid': `legend-count-${item.code}` }, ` ${item.count.toLocaleString('en-US')}`);
      if (onToggle) {
        const toggle = h('input', { type: 'checkbox', checked: !item.hidden, 'data-testid': `legend-toggle-${item.code}`, 'aria-label': `Show ${item.label}` });
        toggle.addEventListener('change', () => onToggle(item.code, toggle.checked));
        list.append(h('li', { 'data-code': item.code }, h('label', {}, toggle, swatch, item.label, ...(count ? [count] : []))));
      } else {
        list.append(h('li', { 'data-code': item.code }, swatch, item.label, ...(count ? [count] : [])));
      }
    }
    if (model.more) list.append(h('li', { class: 'more' }, `+${model.more} more`));
    box.append(list);
  }
  return box;
}
