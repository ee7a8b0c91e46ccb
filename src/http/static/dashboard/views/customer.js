// Customer preview: find a customer, then their purchases (titles, dates), profile (RFM, segment,
// lifecycle) and current recommendations per strategy side by side, with sources and explanations.
import { api, apiOrNull, qs } from '../api.js';
import { day, esc, int, money, noteRefusedKey, num, stillShown, table, time, ViewGone } from '../ui.js';

const K = 10;
/** Customers a search lists. */
const LISTED = 15;

export async function render(el, id, view) {
  el.innerHTML = `
    <form id="search-form" class="inline panel">
      <label>Customer id starts with <input id="search" value="" autocomplete="off"></label>
      <button>Search</button>
      <span class="muted small">empty: the customers who spent most</span>
    </form>
    <div id="results"></div>
    <div id="customer"></div>`;
  const $ = (x) => el.querySelector(`#${x}`);
  // A failed search shows its error under the form, which stays for the next one (the first, on opening, too).
  const search = async () => {
    try {
      const q = $('search').value.trim();
      const customers = q ? (await stillShown(view, api(`/v1/users${qs({ q, limit: LISTED })}`))).customers : await topSpenders(view);
      $('results').innerHTML = `<div class="panel">${table(
        ['customer', 'orders', 'purchases', 'spend', 'last purchase'],
        customers.map((c) => [`<a href="#customer/${encodeURIComponent(c.id)}" data-testid="customer-link">${esc(c.id)}</a>`, int(c.orders), int(c.purchases), money(c.spend), esc(day(c.lastPurchase))]),
        { empty: 'no customer with such an id' },
      )}</div>`;
    } catch (err) {
      if (err instanceof ViewGone) return;
      $('results').innerHTML = `<p class="error">${esc(err.message)}</p>`;
      noteRefusedKey(err);
    }
  };
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    search();
  });
  if (id === undefined) return search();
  $('search').value = id;
  return renderCustomer($('customer'), id, view);
}

/**
 * The biggest spenders: the served model's high value tier is kept sorted by spend (no scan of the
 * purchases). The purchases are summed instead (Postgres) when the tier cannot give all LISTED: before a
 * training (404), with the model store unreadable (503), or when the tier holds fewer (a small shop, or
 * customers who all spent alike and share a lower tier).
 */
async function topSpenders(view) {
  let tier = null;
  try {
    tier = await stillShown(view, apiOrNull(`/v1/segments/high/users${qs({ dimension: 'valueTier', limit: LISTED })}`));
  } catch (err) {
    if (err instanceof ViewGone) throw err;
  }
  if (tier && tier.users.length >= LISTED) {
    return tier.users.map((u) => ({ id: u.userId, orders: u.frequency, purchases: null, spend: u.monetary, lastPurchase: u.lastOrder }));
  }
  return (await stillShown(view, api(`/v1/users${qs({ sort: 'spend', limit: LISTED })}`))).customers;
}

async function renderCustomer(el, id, view) {
  const enc = encodeURIComponent(id);
  // The strategies come from the served version's serving info (no count over the purchases needed);
  // the customer's own data loads meanwhile.
  const models = api('/v1/models');
  const own = Promise.all([api(`/v1/users/${enc}`), apiOrNull(`/v1/users/${enc}/profile`), api(`/v1/users/${enc}/events?limit=50`)]);
  const strategies = activeStrategies(await stillShown(view, models));
  const recs = await stillShown(view, Promise.all(strategies.map((s) => api(`/v1/users/${enc}/recommendations${qs({ k: K, strategy: s })}`))));
  const [user, profile, events] = await stillShown(view, own);
  const attrs = Object.entries(user.attributes);
  el.innerHTML = `
    <h2>Customer <span data-testid="customer-id">${esc(id)}</span></h2>
    <div class="grid2">
      <div class="panel"><h3>Profile</h3>${profile ? profileHtml(profile) : '<p class="muted">no profile: not in a trained model yet</p>'}
        ${attrs.length ? `<h3>Attributes</h3><dl class="kv">${attrs.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(JSON.stringify(v))}</dd>`).join('')}</dl>` : ''}</div>
      <div class="panel scroll"><h3>Purchases (latest ${events.events.length})</h3>${table(
        ['date', 'item', 'qty', 'price'],
        events.events.map((e) => [esc(time(e.ts)), `<a href="#item/${encodeURIComponent(e.itemId)}">${esc(e.title ?? e.itemId)}</a> <span class="muted small">${esc(e.itemId)}</span>`, int(e.quantity), num(e.price, 2)]),
        { textColumns: [0, 1], empty: 'no purchases' },
      )}</div>
    </div>
    <h2>Recommendations now (top ${K} per strategy)</h2>
    <div class="columns">${recs.map(recColumn).join('')}</div>`;
}

/** Strategies the served version answers (`hybrid` alone before a training). */
export const activeStrategies = (models) => models.versions.find((v) => v.active)?.info?.serving?.strategies ?? ['hybrid'];

function profileHtml(p) {
  return `<dl class="kv">
    <dt>segment</dt><dd data-testid="profile-segment">${esc(p.segment)}</dd>
    <dt>lifecycle</dt><dd>${esc(p.lifecycle)}</dd>
    <dt>value tier</dt><dd>${esc(p.valueTier)}</dd>
    <dt>R / F / M score</dt><dd>${esc(`${p.rScore} / ${p.fScore} / ${p.mScore}`)}</dd>
    <dt>recency</dt><dd>${esc(p.recencyDays)} days (as of ${esc(day(p.asOf))})</dd>
    <dt>orders</dt><dd>${esc(p.frequency)} since ${esc(day(p.firstOrder))}</dd>
    <dt>spend</dt><dd>${esc(money(p.monetary))} (mean basket ${esc(money(p.avgBasketValue))})</dd>
    <dt>likes</dt><dd>${esc(p.topTerms.slice(0, 6).map((t) => t.label).join(', '))}</dd>
  </dl>`;
}

function recColumn(r) {
  return `<div class="panel" data-strategy="${esc(r.strategy)}">
    <h3>${esc(r.strategy)}${r.fallback ? ' <span class="muted small">(fallback)</span>' : ''}</h3>
    <ol class="recs">${r.items
      .map(
        (i) => `<li data-item="${esc(i.itemId)}"><a href="#item/${encodeURIComponent(i.itemId)}">${esc(i.title ?? i.itemId)}</a>
          <span class="muted small">${num(i.score, 3)}</span>
          <div class="sources">${esc(i.sources.join(', '))}</div>
          ${i.explanation ? `<div class="explanation">${esc(i.explanation)}</div>` : ''}</li>`,
      )
      .join('')}</ol>
  </div>`;
}
