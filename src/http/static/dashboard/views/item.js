// Item page: the catalogue entry, similar items per neighbour kind, and what is bought together with it.
import { api, qs } from '../api.js';
import { esc, num, stillShown, table } from '../ui.js';

const SIMILAR = ['item-knn', 'content', 'als', 'cooccurrence'];

/**
 * The neighbour kinds of SIMILAR the served version holds (GET /v1/models: the version's recipe, whose sources
 * are each of the family its `recommender` names, else of their own name, as serving resolves them), so the
 * page asks for none the version lacks (a 400 naming what it offers). All of them before a first training, or
 * for a version whose recipe is not kept, or when the versions could not be read (`models` null): then the
 * service answers each by what it has (popularity at worst), or refuses a kind in its panel.
 */
export function similarKinds(models) {
  if (!models) return SIMILAR;
  const shown = models.served ?? models.active;
  const sources = models.versions.find((v) => v.version === shown)?.info?.recipe?.sources;
  if (sources === null || typeof sources !== 'object') return SIMILAR;
  const families = new Set(Object.entries(sources).map(([name, s]) => s?.recommender ?? name));
  return SIMILAR.filter((kind) => families.has(kind));
}

export async function render(el, id, view) {
  if (id === undefined) {
    el.innerHTML = '<p class="muted">Open an item from a customer\'s purchases or recommendations.</p>';
    return;
  }
  const enc = encodeURIComponent(id);
  const [item, together, models] = await stillShown(
    view,
    // The versions come from the model store, the neighbours from the version serving holds: a store that cannot
    // be read (503) costs only the choice of kinds, not the page.
    Promise.all([api(`/v1/items/${enc}`), api(`/v1/items/${enc}/bought-together${qs({ k: 10 })}`), api('/v1/models').catch(() => null)]),
  );
  const kinds = similarKinds(models);
  const asked = await stillShown(
    view,
    Promise.all(kinds.map((s) => api(`/v1/items/${enc}/similar${qs({ k: 10, strategy: s })}`).catch((err) => ({ strategy: s, error: err.message, items: [] })))),
  );
  const link = (i) => `<a href="#item/${encodeURIComponent(i.itemId)}">${esc(i.title ?? i.itemId)}</a>`;
  const panel = (kind) => {
    const n = kinds.indexOf(kind);
    if (n < 0) return `<div class="panel" data-kind="${esc(kind)}"><h3>${esc(kind)}</h3><p class="muted small" data-testid="not-in-model">not in this model</p></div>`;
    const s = asked[n];
    return `<div class="panel" data-kind="${esc(kind)}"><h3>${esc(kind)}${s.fallback ? ' <span class="muted small">(fallback)</span>' : ''}</h3>${
      s.error ? `<p class="error small">${esc(s.error)}</p>` : `<ol class="recs">${s.items.map((i) => `<li data-item="${esc(i.itemId)}">${link(i)} <span class="muted small">${num(i.score)}</span></li>`).join('')}</ol>`
    }</div>`;
  };
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
    <div class="columns">${SIMILAR.map(panel).join('')}</div>`;
}
