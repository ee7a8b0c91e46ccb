// Online: CTR and conversion per strategy and per experiment arm, over the window and per day.
import { api, qs } from '../api.js';
import { barSets, chart, esc, int, lineSets, num, pct, stillShown, table } from '../ui.js';

const DAYS = 30;
/** The longest window the report gives (LONGEST_WINDOW_DAYS). */
const LONGEST_DAYS = 365;
/** A test against the control: its one-look p, and in brackets the p that stays valid when looked at daily (from 30 customers an arm). */
const tested = (t) => (t ? `${num(t.p)} (${t.anytimeP === null ? 'n/a' : num(t.anytimeP)})` : '-');
/** Points (percentage points) with a sign. */
const points = (v) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(2)}`;
/** The difference from the control in points, with the 95% interval that holds however often it is looked at. */
const difference = (t) =>
  t ? `${points(t.difference)} pts ${t.anytimeLow === null ? '(interval from 30 customers an arm)' : `(${points(t.anytimeLow)} to ${points(t.anytimeHigh)})`}` : '-';

/** Every UTC day (YYYY-MM-DD) from the day of `first` to the day of `last`, both ISO dates or timestamps. */
function utcDays(first, last) {
  const days = [];
  for (let t = Date.parse(first.slice(0, 10)); t <= Date.parse(last.slice(0, 10)); t += 86_400_000) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

export async function render(el, _arg, view) {
  const [totals, daily] = await stillShown(view, Promise.all([api(`/v1/metrics/online${qs({ days: DAYS })}`), api(`/v1/metrics/online/daily${qs({ days: DAYS })}`)]));
  el.innerHTML = `
    <h2>Feedback of the last ${DAYS} days</h2>
    <div class="grid2">
      <div class="panel"><h3>CTR and conversion per strategy</h3><div class="chart" id="rates"></div></div>
      <div class="panel"><h3>Per strategy</h3><div id="strategies"></div></div>
      <div class="panel"><h3>Per model version</h3><p class="muted small">The version of each list, read from the recommendationId the feedback names: compare a new version with the one before it before rolling back.</p><div id="versions"></div></div>
      <div class="panel"><h3>CTR per day and strategy</h3><div class="chart" id="ctr-daily"></div></div>
      <div class="panel"><h3>Conversion per day and strategy</h3><div class="chart" id="conv-daily"></div></div>
    </div>
    <h2>A/B experiments</h2>
    <p class="muted small">Tests take customers as samples, each with at most as many clicks and purchases as impressions. p is for one look at a sample size fixed in advance; the p in brackets, and the interval beside it, stay valid however often you look (stop the first time the p is below your threshold, or the interval leaves 0): they keep the smallest p and the narrowest interval of every look at the experiment, this view's and the service's hourly one, so a crossing stays.</p>
    <div id="experiments"></div>`;
  const $ = (id) => el.querySelector(`#${id}`);
  // Feedback without a strategy (null) is told apart by its value, never by its name: a client may send any
  // strategy name, '(none)' too, and the two groups' rows must not be merged.
  const name = (s) => s ?? '(none)';
  const shown = (s) => (s === null ? '<span class="muted">(none)</span>' : esc(s));

  $('strategies').innerHTML = table(
    ['strategy', 'impressions', 'clicks', 'CTR', 'add to cart', 'purchases', 'conversion'],
    totals.strategies.map((s) => [shown(s.strategy), int(s.impressions), int(s.clicks), pct(s.ctr), int(s.addToCart), int(s.purchases), pct(s.conversion)]),
    { empty: 'no feedback in the window' },
  );
  $('versions').innerHTML = table(
    ['model version', 'impressions', 'clicks', 'CTR', 'add to cart', 'purchases', 'conversion'],
    // An API process of the release before (a rolling upgrade) reports no versions.
    (totals.modelVersions ?? []).map((v) => [
      v.modelVersion === null ? '<span class="muted">(no signed recommendationId)</span>' : esc(v.modelVersion),
      int(v.impressions), int(v.clicks), pct(v.ctr), int(v.addToCart), int(v.purchases), pct(v.conversion),
    ]),
    { empty: 'no feedback in the window' },
  );
  if (totals.strategies.length > 0) {
    chart(view, $('rates'), {
      type: 'bar',
      data: {
        labels: totals.strategies.map((s) => name(s.strategy)),
        datasets: barSets([
          { label: 'CTR', data: totals.strategies.map((s) => s.ctr) },
          { label: 'conversion', data: totals.strategies.map((s) => s.conversion) },
        ]),
      },
    });
  } else $('rates').innerHTML = '<p class="muted">no feedback yet</p>';

  // The x axis is the window's every UTC day, from its start to the query's (the server's clock), a day
  // without feedback an empty point: two days with feedback a week apart are not drawn side by side.
  const rowDays = daily.rows.map((r) => r.day);
  const windowEnd = new Date(Date.parse(daily.since) + daily.days * 86_400_000).toISOString();
  const days = utcDays([daily.since.slice(0, 10), ...rowDays].sort()[0], [windowEnd.slice(0, 10), ...rowDays].sort().at(-1));
  const plainRows = daily.rows.filter((r) => r.experimentId === null);
  const strategies = [...new Set(plainRows.map((r) => r.strategy))];
  const series = (rate) =>
    // A day without feedback is a gap in the line, not a straight line across it (spanGaps: false).
    lineSets(strategies.map((s) => ({ label: name(s), data: days.map((d) => plainRows.find((r) => r.day === d && r.strategy === s)?.[rate] ?? null), extra: { spanGaps: false } })));
  for (const [id, rate] of [['ctr-daily', 'ctr'], ['conv-daily', 'conversion']]) {
    if (plainRows.length === 0) $(id).innerHTML = '<p class="muted">no feedback yet</p>';
    else chart(view, $(id), { type: 'line', data: { labels: days, datasets: series(rate) }, options: { scales: { y: { beginAtZero: true } } } });
  }

  if (totals.experiments.length === 0) {
    $('experiments').innerHTML = '<p class="muted">No experiment yet (POST /v1/experiments).</p>';
    return;
  }
  // The tests read an active experiment from its start (its any-time p assumes it): a longer window when one
  // started before this view's.
  const since = (e) => Date.parse(e.createdAt);
  // Its feedback may be dated before it started (a storefront's clock behind): the window holds that too.
  const start = (e) => Math.min(since(e), e.firstFeedbackAt ? Date.parse(e.firstFeedbackAt) : Infinity);
  const oldest = Math.min(...totals.experiments.filter((e) => e.active).map(start));
  const needDays = Number.isFinite(oldest) ? Math.ceil((Date.now() - oldest) / 86_400_000) + 1 : 0;
  const tests = needDays > DAYS ? await stillShown(view, api(`/v1/metrics/online${qs({ days: Math.min(LONGEST_DAYS, needDays) })}`)) : totals;
  // Feedback older than the shop keeps (FEEDBACK_RETENTION_DAYS) is gone: the tests read from the later start.
  const windowStart = Math.max(Date.parse(tests.since), tests.keptSince ? Date.parse(tests.keptSince) : 0);
  $('experiments').innerHTML = tests.experiments
    .map(
      (e) => `<div class="panel"><h3>${esc(e.id)} ${
        e.active ? '<span class="active">active</span>' : e.stoppedAt === null ? '<span class="muted">not started</span>' : '<span class="muted">stopped</span>'
      }</h3>
      <p class="muted small">${
        // Created inactive: it assigns nobody until POST /v1/experiments/:id/start.
        !e.active && e.stoppedAt === null
          ? 'not started: it assigns nobody until POST /v1/experiments/:id/start'
          : e.stoppedAt && Date.parse(e.stoppedAt) < windowStart
          ? `stopped ${esc(String(e.stoppedAt).slice(0, 10))}, before this window: ${
              // Clicks on lists it served may come up to 7 days after its stop (a page left open).
              e.arms.some((a) => a.customers > 0) ? 'only late feedback on lists it served is in it' : 'none of its feedback is in it'
            }`
          : `feedback since ${esc(new Date(Math.max(windowStart, start(e) || windowStart)).toISOString().slice(0, 10))}${
              e.fromStart
                ? ''
                : e.feedbackTrimmed || (tests.keptSince && start(e) < Date.parse(tests.keptSince))
                  ? ' (some of its feedback is deleted, as feedback is kept for FEEDBACK_RETENTION_DAYS, so read p, not the any-time p)'
                  : ' (started earlier: its first days are not in these tests, so read p, not the any-time p)'
            }`
      }</p>${
        e.comparisons > 1
          ? `<p class="muted small">${int(e.comparisons)} treatments against the control: every p and interval is adjusted for them (Bonferroni), so the chance that any arm shows a difference that is not there stays 5%.</p>`
          : ''
      }${
        e.sampleRatio?.mismatch
          ? `<p class="error">Sample ratio mismatch: the arms hold ${e.arms.map((a) => `${int(a.customers)} (${pct(a.share, 0)})`).join(', ')} customers, not their shares (p = ${num(e.sampleRatio.p)}). Assignment or feedback is broken; do not trust the comparison.</p>`
          : ''
      }${table(
        ['arm', 'strategy', 'share', 'customers', 'impressions', 'CTR', 'CTR vs control (95%, any time)', 'p (any time)', 'conversion', 'conversion vs control (95%, any time)', 'p (any time)'],
        e.arms.map((a) => [
          esc(a.name), esc(a.strategy), pct(a.share, 0), int(a.customers), int(a.impressions),
          pct(a.ctr), difference(a.vsControl?.ctr), tested(a.vsControl?.ctr),
          pct(a.conversion), difference(a.vsControl?.conversion), tested(a.vsControl?.conversion),
        ])
      )}<div class="chart" data-experiment="${esc(e.id)}"></div></div>`,
    )
    .join('');
  for (const [n, e] of tests.experiments.entries()) {
    const rows = daily.rows.filter((r) => r.experimentId === e.id);
    const holder = $('experiments').querySelectorAll('[data-experiment]')[n];
    if (rows.length === 0) {
      holder.innerHTML = '<p class="muted small">no feedback for this experiment in the window</p>';
      continue;
    }
    chart(view, holder, {
      type: 'line',
      data: { labels: days, datasets: lineSets(e.arms.map((a) => ({ label: `${a.name} CTR`, data: days.map((d) => rows.find((r) => r.day === d && r.arm === a.name)?.ctr ?? null), extra: { spanGaps: false } }))) },
      options: { scales: { y: { beginAtZero: true } } },
    });
  }
}
