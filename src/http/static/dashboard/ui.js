// Small DOM and formatting helpers shared by the views. All text goes through esc() before innerHTML.
import { ApiError } from './api.js';

/** Says in the header that the key was refused (401, 403), wherever the answer that refused it was shown. */
export function noteRefusedKey(err) {
  if (err instanceof ApiError && (err.status === 401 || err.status === 403)) document.getElementById('status').textContent = 'the key was refused';
}

export const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
export const num = (v, digits = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-');
export const int = (v) => (typeof v === 'number' ? v.toLocaleString('en-US') : '-');
export const pct = (v, digits = 1) => (typeof v === 'number' ? `${(100 * v).toFixed(digits)}%` : '-');
export const money = (v) => (typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 0 }) : '-');
export const day = (iso) => (iso ? String(iso).slice(0, 10) : '-');
export const time = (iso) => (iso ? String(iso).slice(0, 16).replace('T', ' ') : '-');

/**
 * "3 h 12 min", "45 s": an age or a duration in seconds (none, or not a number: "-"). The total is rounded
 * to the smaller unit shown before it is split, so 119.7 s reads "2 min 0 s", never "1 min 60 s".
 */
export function duration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const min = Math.round(seconds / 60);
  if (min < 24 * 60) return `${Math.floor(min / 60)} h ${min % 60} min`;
  const h = Math.round(seconds / 3600);
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** An HTML table; cells are HTML (escape text with esc). `textColumns` are left-aligned. */
export function table(head, rows, { empty = 'none yet', textColumns = [0] } = {}) {
  if (rows.length === 0) return `<p class="muted">${esc(empty)}</p>`;
  const cls = (i) => (textColumns.includes(i) ? ' class="text"' : '');
  return `<table><thead><tr>${head.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export const card = (label, value, testId) => `<div class="card"><div class="value" data-testid="${esc(testId)}">${esc(value)}</div><div class="label">${esc(label)}</div></div>`;
export const error = (err) => `<p class="error">${esc(err instanceof Error ? err.message : err)}</p>`;

/** Fills `el` with what `load` returns; an error shows in its place instead of breaking the view. */
export async function section(el, load) {
  try {
    el.innerHTML = await load();
  } catch (err) {
    if (!(err instanceof ViewGone)) el.innerHTML = error(err);
  }
}

/** Thrown by stillShown() when the view was left while it waited: nothing more of it is drawn, and app.js drops it. */
export class ViewGone extends Error {
  constructor() {
    super('the view was left');
  }
}

/**
 * Awaits `promise` (an API call) for `view`, and goes on only if the view is still the one shown: another
 * view, or "Forget key", may have replaced it meanwhile, and what it would draw belongs to no page now.
 * Every view awaits through this, so an answer (or an error) arriving late is never drawn over what replaced it.
 */
export async function stillShown(view, promise) {
  let value;
  try {
    value = await promise;
  } catch (err) {
    if (!view.alive) throw new ViewGone();
    throw err;
  }
  if (!view.alive) throw new ViewGone();
  return value;
}

// A colour per series, the same series keeping its colour across charts.
const PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#475569', '#ea580c'];
export const colour = (i) => PALETTE[i % PALETTE.length];

/**
 * Draws a Chart.js chart in a new canvas inside `holder` and registers it with the view, which destroys
 * it when the view changes. Animations are off: views render at once and screenshots are stable.
 */
export function chart(view, holder, config) {
  const canvas = document.createElement('canvas');
  holder.replaceChildren(canvas);
  const c = new window.Chart(canvas, {
    ...config,
    options: { animation: false, responsive: true, maintainAspectRatio: false, ...config.options },
  });
  view.charts.push(c);
  return c;
}

/** Bar datasets: one per series, values aligned with `labels`. */
export const barSets = (series) => series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: colour(s.colour ?? i) }));
export const lineSets = (series) =>
  series.map((s, i) => ({ label: s.label, data: s.data, borderColor: colour(s.colour ?? i), backgroundColor: colour(s.colour ?? i), tension: 0.15, spanGaps: true, ...s.extra }));
