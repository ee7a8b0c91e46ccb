// Evaluation: metric@k per strategy (bars), precision/recall across k (lines), run metrics, breakdowns
// by segment and history length, the active recipe's NDCG over time, and two reports side by side.
import { api, qs } from '../api.js';
import { barSets, chart, esc, lineSets, num, pct, stillShown, table, time, ViewGone } from '../ui.js';

const ACCURACY = ['precision', 'recall', 'ndcg', 'map', 'hitRate'];
const RUN = ['catalogCoverage', 'userCoverage', 'diversity', 'novelty', 'popularTop100Share'];

export async function render(el, _arg, view) {
  const [list, models] = await stillShown(view, Promise.all([api('/v1/evaluations?limit=50'), api('/v1/models')]));
  if (list.reports.length === 0) {
    el.innerHTML = '<p class="muted">No evaluation report yet: start one on the overview.</p>';
    return;
  }
  const options = (selected) =>
    list.reports.map((r) => `<option value="${esc(r.id)}"${r.id === selected ? ' selected' : ''}>${esc(time(r.createdAt))} - ${esc(r.recipes.join(', '))} (${esc(r.request?.split?.cutoff?.slice(0, 10) ?? r.request?.split?.kind ?? '')})</option>`).join('');
  const recipe = models.versions.find((v) => v.active)?.recipe ?? list.reports[0].recipes[0];
  el.innerHTML = `
    <h2>NDCG@10 of recipe ${esc(recipe)} across evaluations</h2><div class="panel"><div id="history" class="chart"></div></div>
    <form class="inline panel">
      <label>Report <select id="report-a">${options(list.reports[0].id)}</select></label>
      <label>compare with <select id="report-b"><option value="">(none)</option>${options('')}</select></label>
    </form>
    <div id="reports" class="grid2"></div>`;
  const $ = (id) => el.querySelector(`#${id}`);

  const history = await stillShown(view, api(`/v1/evaluations/history${qs({ strategy: recipe, metric: 'ndcg', k: 10, mode: 'novel' })}`));
  if (history.points.length > 0) {
    chart(view, $('history'), {
      type: 'line',
      data: {
        labels: history.points.map((p) => time(p.createdAt)),
        datasets: lineSets([{ label: `${recipe} NDCG@10 (novel)`, data: history.points.map((p) => p.value) }]),
      },
      options: { scales: { y: { beginAtZero: true } } },
    });
  } else $('history').innerHTML = `<p class="muted">no report has NDCG@10 (novel) for ${esc(recipe)}</p>`;

  // The reports' charts are redrawn when the selection changes; the view destroys the last ones when it goes.
  // They are drawn while the view is shown (stillShown reads `alive`).
  const shown = {
    charts: [],
    get alive() {
      return view.alive;
    },
  };
  view.charts.push({ destroy: () => shown.charts.forEach((c) => c.destroy()) });
  const showReports = async () => {
    for (const c of shown.charts.splice(0)) c.destroy();
    const ids = [$('report-a').value, $('report-b').value].filter(Boolean);
    $('reports').innerHTML = ids.map((id) => `<div data-report="${esc(id)}"></div>`).join('');
    await Promise.all(ids.map((id, i) => renderReport(shown, $('reports').children[i], id).catch((err) => err instanceof ViewGone || ($('reports').children[i].innerHTML = `<p class="error">${esc(err.message)}</p>`))));
  };
  $('report-a').addEventListener('change', showReports);
  $('report-b').addEventListener('change', showReports);
  await showReports();
}

async function renderReport(view, el, id) {
  const ev = await stillShown(view, api(`/v1/evaluations/${encodeURIComponent(id)}`));
  const r = ev.report;
  if (!r) {
    el.innerHTML = `<p class="muted">evaluation ${esc(id)} is ${esc(ev.status)}</p>`;
    return;
  }
  const mode = r.modes.includes('novel') ? 'novel' : r.modes[0];
  const k = [...r.ks].sort((a, b) => Math.abs(a - 10) - Math.abs(b - 10) || a - b)[0];
  const rows = r.rows.filter((row) => row.mode === mode);
  const at = (strategy, kk) => rows.find((row) => row.strategy === strategy && row.k === kk);
  el.innerHTML = `
    <div class="panel">
      <h3>${esc(time(ev.createdAt))}: ${esc(r.split.kind)} split${r.split.cutoff ? ` at ${esc(r.split.cutoff.slice(0, 10))}` : ''}, mode ${esc(mode)}</h3>
      <p class="small muted">${esc(r.split.trainUsers)} train customers, ${esc(r.split.trainItems)} items, ${esc(r.split.trainEvents)} purchases; test customers ${esc(Object.entries(r.split.testUsers).map(([m, n]) => `${m} ${n}`).join(', '))}; baseline ${esc(r.baseline)}</p>
      <h3>Accuracy @${k} per strategy</h3><div class="chart tall" data-chart="bars"></div>
      <div class="grid2"><div><h3>Precision across k</h3><div class="chart" data-chart="precision"></div></div>
        <div><h3>Recall across k</h3><div class="chart" data-chart="recall"></div></div></div>
      <h3>Coverage, diversity, novelty and NDCG lift @${k}</h3><div data-part="run"></div>
      <h3>NDCG@${k} by RFM segment</h3><div class="chart" data-chart="segment"></div>
      <h3>NDCG@${k} by history length (train orders)</h3><div class="chart" data-chart="history"></div>
    </div>`;
  const part = (name) => el.querySelector(`[data-chart="${name}"]`);
  chart(view, part('bars'), {
    type: 'bar',
    data: { labels: ACCURACY, datasets: barSets(r.strategies.map((s) => ({ label: s, data: ACCURACY.map((m) => at(s, k)?.metrics[m] ?? null) }))) },
  });
  for (const metric of ['precision', 'recall']) {
    chart(view, part(metric), {
      type: 'line',
      data: { labels: r.ks.map((kk) => `k=${kk}`), datasets: lineSets(r.strategies.map((s) => ({ label: s, data: r.ks.map((kk) => at(s, kk)?.metrics[metric] ?? null) }))) },
      options: { scales: { y: { beginAtZero: true } } },
    });
  }
  // NDCG's lift over the baseline and its 95% interval paired over the test users (reports made before
  // intervals existed have none): an interval across 0 means these customers cannot tell the two apart.
  const signed = (v) => (typeof v === 'number' ? `${v >= 0 ? '+' : ''}${pct(v)}` : '-');
  const interval = (ci) => (ci ? `${signed(ci.low)} .. ${signed(ci.high)}` : '-');
  el.querySelector('[data-part="run"]').innerHTML = table(
    ['strategy', ...RUN, `NDCG lift over ${r.baseline}`, '95% CI'],
    r.strategies.map((s) => [esc(s), ...RUN.map((m) => num(at(s, k)?.metrics[m])), signed(at(s, k)?.lift.ndcg), interval(at(s, k)?.liftInterval?.ndcg)]),
  );
  for (const dimension of ['segment', 'history']) {
    const b = r.breakdowns.filter((x) => x.dimension === dimension && x.mode === mode && x.k === k);
    const groups = [...new Set(b.map((x) => x.group))];
    if (groups.length === 0) {
      part(dimension).innerHTML = '<p class="muted">no breakdown in this report</p>';
      continue;
    }
    chart(view, part(dimension), {
      type: 'bar',
      data: {
        labels: groups.map((g) => `${g} (${b.find((x) => x.group === g)?.users ?? 0})`),
        datasets: barSets(r.strategies.map((s) => ({ label: s, data: groups.map((g) => b.find((x) => x.group === g && x.strategy === s)?.metrics.ndcg ?? null) }))),
      },
    });
  }
}
