// Customers: segment sizes and revenue shares, the RFM distribution, lifecycle now and over time.
import { apiOrNull, api } from '../api.js';
import { barSets, chart, day, esc, int, lineSets, money, num, pct, section, stillShown, table } from '../ui.js';

export async function render(el, _arg, view) {
  const [segments, history] = await stillShown(view, Promise.all([apiOrNull('/v1/segments'), api('/v1/segments/lifecycle-history?months=13')]));
  el.innerHTML = `
    <div id="summary"></div>
    <div class="grid2">
      <div class="panel"><h3>RFM segments: share of customers and of revenue</h3><div class="chart tall" id="segments"></div></div>
      <div class="panel"><h3>RFM distribution: customers per score</h3><div class="chart tall" id="rfm"></div></div>
      <div class="panel"><h3>Lifecycle at the end of each month</h3><div class="chart tall" id="lifecycle"></div></div>
      <div class="panel"><h3>Value tiers and lifecycle now</h3><div id="tiers"></div></div>
    </div>
    <h2>Segments</h2><div class="panel" id="table"></div>
    <div id="members"></div>`;
  const $ = (id) => el.querySelector(`#${id}`);

  if (history.points.length > 0) {
    const stages = Object.keys(history.points[0].counts);
    chart(view, $('lifecycle'), {
      type: 'line',
      data: {
        labels: history.points.map((p) => day(p.asOf)),
        datasets: lineSets(stages.map((s) => ({ label: s, data: history.points.map((p) => p.counts[s]), extra: { fill: true } }))),
      },
      options: { scales: { y: { stacked: true, beginAtZero: true } } },
    });
  } else $('lifecycle').innerHTML = '<p class="muted">no purchases yet</p>';

  if (!segments) {
    $('summary').innerHTML = '<p class="muted">No customer profiles yet: they are computed when a model is trained.</p>';
    return;
  }
  $('summary').innerHTML = `<p>${int(segments.users)} profiled customers, revenue ${money(segments.revenue)}, as of ${esc(day(segments.asOf))} (model ${esc(segments.modelVersion)})</p>`;
  chart(view, $('segments'), {
    type: 'bar',
    data: {
      labels: segments.segments.map((s) => s.name),
      datasets: barSets([
        { label: 'share of customers', data: segments.segments.map((s) => s.userShare) },
        { label: 'share of revenue', data: segments.segments.map((s) => s.revenueShare) },
      ]),
    },
    options: { scales: { y: { ticks: { format: { style: 'percent' } } } } },
  });
  chart(view, $('rfm'), {
    type: 'bar',
    data: {
      labels: ['score 1', 'score 2', 'score 3', 'score 4', 'score 5'],
      datasets: barSets([
        { label: 'recency (R)', data: segments.scores.r },
        { label: 'frequency (F)', data: segments.scores.f },
        { label: 'monetary (M)', data: segments.scores.m },
      ]),
    },
  });
  const groupRows = (groups) => groups.map((g) => [esc(g.name), int(g.users), pct(g.userShare), pct(g.revenueShare)]);
  $('tiers').innerHTML =
    table(['value tier', 'customers', 'share', 'revenue share'], groupRows(segments.valueTiers)) +
    table(['lifecycle', 'customers', 'share', 'revenue share'], groupRows(segments.lifecycle));
  $('table').innerHTML = table(
    ['segment', 'customers', 'share', 'revenue', 'revenue share', 'mean R', 'mean F', 'mean M'],
    segments.segments.map((g) => [
      g.users > 0 ? `<button type="button" data-segment="${esc(g.name)}">${esc(g.name)}</button>` : esc(g.name),
      int(g.users),
      pct(g.userShare),
      money(g.revenue),
      pct(g.revenueShare),
      num(g.meanR, 2),
      num(g.meanF, 2),
      num(g.meanM, 2),
    ]),
  );
  $('table').addEventListener('click', async (e) => {
    const name = e.target.dataset?.segment;
    if (!name) return;
    await section($('members'), async () => {
      const page = await stillShown(view, api(`/v1/segments/${encodeURIComponent(name)}/users?limit=20`));
      return `<h2>${esc(name)}: top ${page.users.length} of ${int(page.total)} by spend</h2><div class="panel">${table(
        ['customer', 'orders', 'spend', 'recency (days)', 'lifecycle'],
        page.users.map((u) => [`<a href="#customer/${encodeURIComponent(u.userId)}">${esc(u.userId)}</a>`, int(u.frequency), money(u.monetary), int(u.recencyDays), esc(u.lifecycle)]),
      )}</div>`;
    });
  });
}
