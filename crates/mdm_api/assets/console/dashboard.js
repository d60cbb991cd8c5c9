// The dashboard: per domain the golden and source records, the review backlog over the
// runs, duplicate rate and data-quality findings per source system, and the last runs.

import { get, seg } from './api.js';
import { h, mount, main, num, pct, when, loading, failure } from './dom.js';
import { bars, line } from './charts.js';

export async function render(ctx) {
  const root = main();
  mount(root, loading('the dashboard'));
  let d;
  try {
    d = await get('/v1/dashboard');
  } catch (err) {
    mount(root, failure(err));
    return;
  }
  const sel = ctx.domain;
  const doms = d.domains.slice().sort((a, b) => (a.domain === sel ? -1 : b.domain === sel ? 1 : a.domain.localeCompare(b.domain)));
  mount(root,
    h('div.titlebar', h('h1', 'Dashboard')),
    doms.length ? doms.map(domain) : h('div.card.empty', 'No data loaded yet: ingest some records and run reconcile.'));
}

function domain(x) {
  const runs = x.runs.slice(0, 10);
  const chrono = x.backlog_history.slice(-20);
  return h('section.domain', { 'aria-labelledby': `d-${x.domain}` },
    h('h2', { id: `d-${x.domain}` }, x.domain),
    h('div.row.figures',
      h('div.card', h('div.muted', 'Golden records'), h('div.figure', num(x.golden_records))),
      h('div.card', h('div.muted', 'Source records'), h('div.figure', num(x.source_records))),
      h('div.card', h('div.muted', 'Review backlog'), h('div.figure', h('a', { href: `#/queue/${seg(x.domain)}` }, num(x.review_backlog)))),
      h('div.card', h('div.muted', 'Records per golden record'), h('div.figure', x.golden_records ? num(x.source_records / x.golden_records, 2) : '–'))),
    h('div.row',
      h('div.card', h('h3', 'Review backlog over runs'),
        line(`Review backlog of ${x.domain} over the last runs`, chrono.map((p) => ({ x: `#${p.run_id}`, y: p.review_items })), (v) => num(v))),
      h('div.card', h('h3', 'Duplicate rate per source'),
        bars(`Duplicate rate per source system in ${x.domain}`, x.systems.map((s) => ({ label: s.system, value: s.duplicate_rate })), (v) => pct(v), { color: 'var(--warn)' })),
      h('div.card', h('h3', 'Data-quality findings per source'),
        bars(`Data-quality findings per source system in ${x.domain}`, x.systems.map((s) => ({ label: s.system, value: s.dq_findings })), (v) => num(v), { color: 'var(--bad)' }),
        h('p', h('a', { href: `#/quality/${seg(x.domain)}` }, `Data quality of ${x.domain}: file, line, reason, raw text →`)))),
    h('div.card',
      h('h3', 'Last runs'),
      runs.length ? h('div.runs',
        h('table', { 'aria-label': `Last runs of ${x.domain}` },
          h('thead', h('tr', ['Run', 'Mode', 'Status', 'Started', 'Duration', 'Created', 'Updated', 'Merged', 'Split', 'Deleted', 'Review'].map((t, i) => h(i === 0 || i >= 4 ? 'th.num' : 'th', { scope: 'col' }, t)))),
          h('tbody', runs.map((r) => h('tr',
            h('td.num', r.run_id), h('td', r.mode), h('td', h(`span.badge.${r.status === 'completed' ? 'good' : 'warn'}`, r.status)),
            h('td.nowrap', when(r.started_at)), h('td.num', r.duration_s === null ? '–' : `${num(r.duration_s, 1)} s`),
            h('td.num', num(r.created)), h('td.num', num(r.updated)), h('td.num', num(r.merged)), h('td.num', num(r.split)),
            h('td.num', num(r.deleted)), h('td.num', num(r.review_items)))))),
        bars(`Duration of the last runs of ${x.domain} in seconds`, runs.map((r) => ({ label: `run ${r.run_id}`, value: r.duration_s || 0 })), (v) => `${num(v, 1)} s`, { width: 300 }))
        : h('p.muted', 'No runs yet.')));
}
