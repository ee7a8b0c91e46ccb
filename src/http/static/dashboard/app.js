// The dashboard's entry: key form, hash routing (#overview, #customer/ID, ...) and view lifecycle.
import { adminKey, api, ApiError } from './api.js';
import { error, noteRefusedKey } from './ui.js';
import * as overview from './views/overview.js';
import * as evaluation from './views/evaluation.js';
import * as customer from './views/customer.js';
import * as item from './views/item.js';
import * as customers from './views/customers.js';
import * as online from './views/online.js';

const VIEWS = { overview, evaluation, customer, item, customers, online };
const $ = (id) => document.getElementById(id);
const main = $('view');
let current = null;

/** Stops what the shown view runs (charts, polling) before another replaces it; its awaits (stillShown) stop there. */
function dispose(view) {
  if (!view) return;
  view.alive = false;
  for (const c of view.charts) c.destroy();
  for (const t of view.timers) clearTimeout(t);
}

/** Renders the view the hash names; body[data-ready] names it once everything in it has loaded (tests and benches wait for it). */
async function show() {
  const [name, ...rest] = location.hash.slice(1).split('/');
  const viewName = Object.hasOwn(VIEWS, name) ? name : 'overview';
  const arg = rest.length > 0 ? decodeURIComponent(rest.join('/')) : undefined;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('current', a.getAttribute('href') === `#${viewName === 'item' ? 'customer' : viewName}`);
  dispose(current);
  // From here no view is current until one is made below: one still loading (left, or its key forgotten) draws nothing more.
  current = null;
  delete document.body.dataset.ready;
  if (!adminKey.get()) {
    main.innerHTML = '<p>Enter an admin API key to start. It is kept in this tab only (session storage) and sent as a header.</p>';
    return;
  }
  const view = { charts: [], timers: [], alive: true, show };
  current = view;
  const started = performance.now();
  main.innerHTML = '<p class="muted">Loading…</p>';
  try {
    await VIEWS[viewName].render(main, arg, view);
  } catch (err) {
    if (view !== current) return;
    main.innerHTML = error(err);
    noteRefusedKey(err);
  }
  if (view !== current) return;
  document.body.dataset.renderMs = (performance.now() - started).toFixed(0);
  document.body.dataset.ready = viewName;
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  adminKey.set($('key').value.trim());
  $('key').value = '';
  $('status').textContent = '';
  try {
    await api('/v1/overview');
  } catch (err) {
    adminKey.clear();
    $('status').textContent = err instanceof ApiError && err.status === 401 ? 'unknown key' : err.message;
    return show();
  }
  show();
});
$('forget-key').addEventListener('click', () => {
  adminKey.clear();
  show();
});
window.addEventListener('hashchange', show);
show();
