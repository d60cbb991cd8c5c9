// Data quality: the rows ingest quarantined in the current domain, counted per source system
// and reason, and listed with file, line, field, reason, what is wrong and the raw text, so a
// steward can have the source fixed; and the staged values no golden record will publish
// (invalid for their type or placeholders), with the reason. The raw text and values are
// shown as text, never as markup.

import { get, qs } from './api.js';
import { h, mount, main, num, when, field, loading, failure } from './dom.js';

const LIMIT = 50;

export async function render(ctx) {
  const root = main();
  const domain = ctx.domain;
  const f = { system: '' };
  const pages = []; // `after` of each page shown, to go back
  const systems = ctx.systems[domain] || [];
  const system = h('select', { id: 'dq-system' }, h('option', { value: '' }, 'All systems'),
    systems.map((s) => h('option', { value: s }, s)));
  const summary = h('div', loading('the counts'));
  const body = h('div');

  async function show(after) {
    mount(body, loading('the quarantined rows'));
    let page;
    try {
      page = await get(`/v1/quality/quarantine${qs({ domain, system: f.system, after, limit: LIMIT })}`);
    } catch (err) {
      mount(body, failure(err));
      return;
    }
    const rows = page.rows.map((r) => h('tr',
      h('td', h('span.sys', r.system)),
      h('td.nowrap', { title: r.source }, basename(r.source)),
      h('td.num', r.line),
      h('td', r.field || h('span.muted', '—')),
      h('td', h('span.badge.bad', r.reason)),
      h('td', r.detail),
      h('td', r.raw === null ? h('span.muted', '—') : h('code.raw', r.raw)),
      h('td.nowrap', when(r.quarantined_at))));
    mount(body,
      rows.length
        ? h('table', { 'aria-label': 'Quarantined rows' },
          h('thead', h('tr', ['System', 'File', 'Line', 'Field', 'Reason', 'What is wrong', 'Raw text', 'When'].map((t) => h(t === 'Line' ? 'th.num' : 'th', { scope: 'col' }, t)))),
          h('tbody', rows))
        : h('div.card.empty', 'No quarantined rows: every row read was staged.'),
      h('div.pager',
        h('button', { type: 'button', disabled: !pages.length, onclick: () => show(pages.pop()) }, '← Previous page'),
        h('button', { type: 'button', disabled: !page.next_after, onclick: () => { pages.push(after); show(page.next_after); } }, 'Next page →')));
  }

  async function counts() {
    let s;
    try {
      s = await get(`/v1/quality/summary${qs({ domain })}`);
    } catch (err) {
      mount(summary, failure(err));
      return;
    }
    mount(summary, s.by_reason.length
      ? h('table', { 'aria-label': 'Quarantined rows per system and reason' },
        h('thead', h('tr', h('th', { scope: 'col' }, 'System'), h('th', { scope: 'col' }, 'Reason'), h('th.num', { scope: 'col' }, 'Rows'))),
        h('tbody', s.by_reason.map((c) => h('tr', h('td', h('span.sys', c.system)), h('td', c.reason), h('td.num', num(c.rows))))))
      : h('p.muted', 'Nothing quarantined.'));
  }

  const values = h('div', loading('the values'));
  async function unpublished() {
    let v;
    try {
      v = await get(`/v1/quality/values${qs({ domain, limit: LIMIT })}`);
    } catch (err) {
      mount(values, failure(err));
      return;
    }
    mount(values, v.findings.length
      ? [h('table', { 'aria-label': 'Values no golden record will publish' },
        h('thead', h('tr', ['System', 'Record', 'Attribute', 'Reason', 'Value'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', v.findings.map((f) => h('tr',
          h('td', h('span.sys', f.system)), h('td', f.source_id), h('td', f.attribute),
          h('td', h('span.badge.bad', f.reason)), h('td', h('code.raw', f.value)))))),
      h('p.muted', `${num(v.findings.length)} of ${num(v.total)} shown.`)]
      : h('p.muted', 'Every staged value is valid.'));
  }

  mount(root,
    h('div.titlebar', h('h1', `Data quality · ${domain}`),
      h('span.muted', 'Rows ingest could not stage, each counted once however often its file was loaded.')),
    h('div.card', h('h3', 'Quarantined rows per system and reason'), summary),
    h('form.toolbar', {
      'aria-label': 'Data quality filters',
      onsubmit: (e) => { e.preventDefault(); f.system = system.value; pages.length = 0; show(undefined); },
    }, field('Source system', system), h('button.primary', { type: 'submit' }, 'Show')),
    body,
    h('div.card', h('h3', 'Values no golden record will publish (invalid or placeholders)'), values));
  counts();
  show(undefined);
  unpublished();
}

/** The file name without its directories (the full path is the cell's tooltip). */
function basename(path) {
  const parts = String(path).split(/[\\/]/);
  return parts[parts.length - 1] || path;
}
