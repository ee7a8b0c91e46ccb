// Overview: what the service holds, the model it serves (age, recipe, step durations), training and
// evaluation started from here with live progress, model versions with rollback.
import { api, qs, retryable, retryDelayMs } from '../api.js';
import { barSets, card, chart, duration, esc, int, pct, section, stillShown, table, time, day } from '../ui.js';

const POLL_MS = 500;
/** The window of each version's feedback rates in the versions table (the Online view's). */
const RATE_DAYS = 30;

export async function render(el, _arg, view) {
  el.innerHTML = `
    <h2>Data</h2><div id="counts" class="cards"></div>
    <h2>Served model</h2><div class="grid2"><div id="model" class="panel"></div><div class="panel"><h3>Training duration per step (s)</h3><div id="steps" class="chart"></div></div></div>
    <h2>Train and evaluate</h2>
    <div class="panel">
      <form id="train-form" class="inline">
        <label>Recipe <input id="train-recipe" placeholder="DEFAULT_RECIPE" size="14" title="a recipe file: NAME for models/NAME.json; empty: the configured DEFAULT_RECIPE"></label>
        <label>weights ${weightsSelect('train-tune')}</label>
        <button id="start-training">Start training</button>
        <span id="training"></span>
      </form>
      <form id="evaluate-form" class="inline">
        <label>Temporal split at <input id="eval-cutoff" type="date" required></label>
        <label>k <input id="eval-ks" value="5,10,20" size="8"></label>
        <label>lifts over <input id="eval-baseline" placeholder="popularity" size="12" title="a source of the recipe (e.g. ease) or a recipe"></label>
        <label>weights ${weightsSelect('eval-tune')}</label>
        <button id="start-evaluation">Start evaluation</button>
        <span id="evaluating"></span>
      </form>
    </div>
    <h2>Model versions</h2><div id="versions" class="panel"></div>
    <h2>Recent trainings</h2><div id="jobs" class="panel"></div>`;
  const $ = (id) => el.querySelector(`#${id}`);

  // Each version's click-through beside its rollback button: asked for beside the rest, but the view is
  // drawn without waiting for it (a long report must not hold the overview up), and stands without it.
  const onlineReport = api(`/v1/metrics/online${qs({ days: RATE_DAYS })}`).catch(() => null);
  const [overview, models, jobs] = await stillShown(view, Promise.all([api('/v1/overview'), api('/v1/models'), api('/v1/training-jobs')]));
  const c = overview.counts;
  $('counts').innerHTML = [
    card('catalogue items', int(c.items), 'count-items'),
    card('customers', int(c.customers), 'count-customers'),
    card('purchases', int(c.purchases), 'count-purchases'),
    card('orders', int(c.orders), 'count-orders'),
    card('feedback events', int(c.feedback), 'count-feedback'),
    card('purchases from - to', `${day(c.firstPurchase)} - ${day(c.lastPurchase)}`, 'purchase-range'),
    // Counts are kept by the server for OVERVIEW_COUNTS_MAX_AGE_MS (counting is slow on a large store): say how old.
    ...(c.ageSeconds > 0 ? [card('counted', `${int(c.ageSeconds)} s ago`, 'counted-at')] : []),
  ].join('');

  const m = overview.model;
  // The served version's details (the store may name another active, or have lost them: then none).
  const active = m ? models.versions.find((v) => v.version === m.version) : undefined;
  const inStore = overview.activeInStore;
  const storeNote =
    inStore === undefined ? '' : `<p class="muted" data-testid="store-active">${inStore === null ? 'The model store has no active version (it lost its models): this version is served from memory.' : `The model store names ${esc(inStore)} active: it is served once loaded.`}</p>`;
  $('model').innerHTML = m
    ? `${storeNote}<dl class="kv">
        <dt>version</dt><dd data-testid="model-version">${esc(m.version)}</dd>
        <dt>recipe</dt><dd data-testid="model-recipe">${recipeLabel(m)}</dd>
        <dt>trained at</dt><dd>${esc(time(m.trainedAt))} UTC</dd>
        <dt>age</dt><dd>${esc(duration(m.ageSeconds))}</dd>
        <dt>training took</dt><dd>${esc(duration((active?.info?.durations?.total ?? NaN) / 1000))}</dd>
        <dt>trained on</dt><dd>${esc(Object.entries(active?.info?.data ?? {}).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${int(v)} ${k}`).join(', '))}</dd>
        <dt>strategies</dt><dd>${esc(m.strategies.join(', '))}</dd>
      </dl>`
    : inStore
      ? storeNote
      : '<p class="muted">No model yet: start a training below.</p>';
  const steps = Object.entries(active?.info?.durations ?? {}).filter(([name]) => name !== 'total');
  if (steps.length > 0) {
    chart(view, $('steps'), {
      type: 'bar',
      data: { labels: steps.map(([name]) => name), datasets: barSets([{ label: 'seconds', data: steps.map(([, ms]) => ms / 1000) }]) },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { y: { ticks: { autoSkip: false } } } },
    });
  } else $('steps').innerHTML = '<p class="muted">no training yet</p>';

  // Feedback on lists of each version (the version their signed recommendationId names): '…' while the
  // report is read, '-' when it cannot be.
  const drawVersions = (online) => {
    const rates = new Map((online?.modelVersions ?? []).filter((r) => r.modelVersion !== null).map((r) => [r.modelVersion, r]));
    const rate = (v, f) => (online === undefined ? '…' : online === null ? '-' : f(rates.get(v.version)));
    $('versions').innerHTML = table(
      ['version', 'recipe', 'trained at', 'took', `impressions (${RATE_DAYS} days)`, 'CTR', 'conversion', ''],
      models.versions.map((v) => [
        `<span class="${v.active ? 'active' : ''}">${esc(v.version)}</span>`,
        recipeLabel(v),
        esc(time(v.trainedAt)),
        esc(duration((v.info?.durations?.total ?? NaN) / 1000)),
        rate(v, (r) => int(r?.impressions ?? 0)),
        rate(v, (r) => pct(r?.ctr ?? null)),
        rate(v, (r) => pct(r?.conversion ?? null)),
        v.active ? '<span class="active">serving</span>' : `<button data-activate="${esc(v.version)}">roll back to this</button>`,
      ]),
    );
    if (online !== undefined) $('versions').dataset.rates = online === null ? 'unread' : 'read';
  };
  drawVersions(undefined);
  stillShown(view, onlineReport).then(drawVersions, () => {});
  $('versions').addEventListener('click', async (e) => {
    const version = e.target.dataset?.activate;
    if (!version || !confirm(`Serve ${version} from now on?`)) return;
    await section($('versions'), async () => {
      await stillShown(view, api(`/v1/models/${encodeURIComponent(version)}/activate`, { method: 'POST' }));
      view.show();
      return '<p class="muted">activated</p>';
    });
  });

  $('jobs').innerHTML = jobTable(jobs.jobs.slice(0, 8));

  // A cutoff 30 days before the latest purchase: a month of test data by default.
  if (c.lastPurchase) $('eval-cutoff').value = day(new Date(Date.parse(c.lastPurchase) - 30 * 86_400_000).toISOString());

  $('train-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const recipe = $('train-recipe').value.trim();
    await section($('training'), async () => {
      const job = await stillShown(view, api('/v1/training-jobs', { method: 'POST', body: { ...(recipe ? { recipe } : {}), ...tuneChoice($('train-tune')) } }));
      watch(view, $('training'), `/v1/training-jobs/${job.jobId}`, 'training');
      return `training ${esc(job.jobId)} queued`;
    });
  });
  $('evaluate-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const ks = $('eval-ks').value.split(',').map((s) => Number(s.trim())).filter((k) => k > 0);
    const baseline = $('eval-baseline').value.trim();
    await section($('evaluating'), async () => {
      const job = await stillShown(
        view,
        api('/v1/evaluations', {
          method: 'POST',
          body: { recipes: m ? [recipeFileOf(m)] : undefined, split: { kind: 'temporal', cutoff: $('eval-cutoff').value }, ks, ...(baseline ? { baseline } : {}), ...tuneChoice($('eval-tune')) },
        }),
      );
      watch(view, $('evaluating'), `/v1/evaluations/${job.jobId}`, 'evaluation');
      return `evaluation ${esc(job.jobId)} queued`;
    });
  });

  // A training already under way (started elsewhere) is shown too.
  const running = jobs.jobs.find((j) => j.status === 'queued' || j.status === 'running');
  if (running) watch(view, $('training'), `/v1/training-jobs/${running.id}`, 'training');
}

/**
 * The recipe file a version was trained from (models/NAME.json), which an evaluation or a training names: the
 * recipe may call itself otherwise. A version trained before the file was recorded has only the recipe's name.
 */
const recipeFileOf = (v) => v.recipeFile ?? v.recipe;
/** The recipe's name, and its file when the recipe calls itself otherwise. */
const recipeLabel = (v) => esc(v.recipe) + (v.recipeFile && v.recipeFile !== v.recipe ? ` <span class="small">(models/${esc(v.recipeFile)}.json)</span>` : '');

/** Whether the weights are tuned first: as the recipe's `tune` section says, on this data, or as written (quicker). */
function weightsSelect(id) {
  return `<select id="${id}"><option value="">as the recipe says</option><option value="true">tuned on this data</option><option value="false">as written</option></select>`;
}
const tuneChoice = (select) => (select.value === '' ? {} : { tune: select.value === 'true' });
/** A training's weights when its request chose them (absent: as the recipe says). */
const tuneNote = (tune) => (tune === undefined ? '' : ` <span class="small">(${tune === false ? 'weights as written' : 'tuned'})</span>`);

function jobTable(jobs) {
  return table(
    ['job', 'recipe', 'status', 'created', 'took', 'version'],
    jobs.map((j) => [
      esc(j.id),
      esc(j.params?.recipe) + tuneNote(j.params?.tune),
      `<span class="${j.status === 'failed' ? 'error' : ''}">${esc(j.status)}</span>${j.error ? ` <span class="small error">${esc(j.error)}</span>` : ''}`,
      esc(time(j.createdAt)),
      esc(j.startedAt && j.finishedAt ? duration((Date.parse(j.finishedAt) - Date.parse(j.startedAt)) / 1000) : '-'),
      esc(j.result?.version ?? ''),
    ]),
  );
}

/**
 * Polls a job until it ends, showing its progress and step; a finished training refreshes the view. A poll
 * that fails for a while (429, 503, the network) is shown and tried again after the answer's Retry-After or
 * a growing pause: the job runs on meanwhile. Only a refused key or a job not found (401, 403, 404) ends it.
 */
function watch(view, holder, url, what) {
  let failures = 0;
  const tick = async () => {
    if (!view.alive) return;
    let job;
    try {
      job = await stillShown(view, api(url));
    } catch (err) {
      if (!view.alive) return;
      if (!retryable(err)) {
        holder.innerHTML = `<span class="error">${esc(err.message)}</span>`;
        return;
      }
      const wait = retryDelayMs(err, ++failures);
      holder.innerHTML = `${what}: <span class="error">${esc(err.message)}</span> <span class="muted">(trying again in ${esc(Math.ceil(wait / 1000))} s)</span>`;
      view.timers.push(setTimeout(tick, wait));
      return;
    }
    failures = 0;
    const label = `${what} ${esc(job.id)}: <span data-testid="${what}-status">${esc(job.status)}</span>`;
    if (job.status === 'succeeded') {
      holder.innerHTML = `${label}${job.result?.version ? ` - version ${esc(job.result.version)}` : ''} <button type="button" data-refresh>refresh</button>`;
      holder.querySelector('[data-refresh]').addEventListener('click', () => view.show());
      if (what === 'training') view.timers.push(setTimeout(() => view.show(), 1500));
      return;
    }
    if (job.status === 'failed') {
      holder.innerHTML = `${label} <span class="error">${esc(job.error)}</span>`;
      return;
    }
    holder.innerHTML = `${label} <progress max="1" value="${Number(job.progress) || 0}"></progress> ${esc(Math.round(100 * job.progress))}% <span class="muted">${esc(job.step ?? '')}</span>`;
    view.timers.push(setTimeout(tick, POLL_MS));
  };
  tick();
}

