// Item page: the catalogue entry, similar items per neighbour kind, and what is bought together with it.
import { api, qs } from '../api.js';
import { esc, num, stillShown, table } from '../ui.js';

const SIMILAR = ['item-knn', 'content', 'als', 'cooccurrence'];

export async function render(el, id, view) {
  if (id === undefined) {
    el.innerHTML = '<p class="muted">Open an item from a customer\'s purchases or recommendations.</p>';
    return;
  }
  const enc = encodeURIComponent(id);
  const [item, together, ...similar] = await stillShown(view, Promise.all([
    api(`/v1/items/${enc}`),
    api(`/v1/items/${enc}/bought-together${qs({ k: 10 })}`),
    ...SIMILAR.map((s) => api(`/v1/items/${enc}/similar${qs({ k: 10, strategy: s })}`).catch((err) => ({ strategy: s, error: err.message, items: [] }))),
  ]));
  const link = (i) => `<a href="#item/${encodeURIComponent(i.itemId)}">${esc(i.title ?? i.itemId)}</a>`;
  el.innerHTML = `
    <h2>Item <span data-testid="item-id">${esc(item.id)}</span>: ${esc(item.title)}</h2>
    <p class="muted">${esc([item.categories.join(', '), item.price !== null ? `price ${num(item.price, 2)}` : '', item.available ? '' : 'not available'].filter(Boolean).join(' - '))}</p>
    <h3>Bought together</h3>
    <div class="panel">${table(
      ['item', 'orders with both', 'confidence', 'lift'],
      together.items.map((i) => [link(i), esc(i.support), num(i.confidence), num(i.lift, 2)]),
      { empty: 'no co-purchases' },
    )}</div>
    <h3>Similar items</h3>
    <div class="columns">${similar
      .map(
        (s, n) => `<div class="panel"><h3>${esc(SIMILAR[n])}${s.fallback ? ' <span class="muted small">(fallback)</span>' : ''}</h3>${
          s.error ? `<p class="error small">${esc(s.error)}</p>` : `<ol class="recs">${s.items.map((i) => `<li>${link(i)} <span class="muted small">${num(i.score)}</span></li>`).join('')}</ol>`
        }</div>`,
      )
      .join('')}</div>`;
}
