// Data quality: the rows ingest quarantined in the current domain, counted per source system
// and reason, and listed with file, line, field, reason, what is wrong and the raw text, so a
// steward can have the source fixed; the staged values no golden record will publish
// (invalid for their type or placeholders), with the reason; and the attributes whose
// source records in one golden record hold different values, each with its records and
// the one published. The raw text and values are shown as text, never as markup.

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

  // Values a golden record's sources disagree on, a page at a time (a large domain has many).
  const conflicts = h('div', loading('the conflicting values'));
  const conflictPages = [];
  async function disagreements(offset) {
    let c;
    try {
      c = await get(`/v1/quality/conflicts${qs({ domain, offset, limit: LIMIT })}`);
    } catch (err) {
      mount(conflicts, failure(err));
      return;
    }
    const value = (v) => h('li', { class: v.survived ? 'survived' : null },
      h('code.raw', v.value), ' ',
      v.sources.map((s) => [h('span.sys', s.system), ' ', s.source_id, ' ']),
      v.survived ? h('span.badge.good', 'published') : null);
    mount(conflicts, c.findings.length
      ? [h('table', { 'aria-label': 'Values the sources disagree on' },
        h('thead', h('tr', ['Golden record', 'Attribute', 'Values and the records holding them'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', c.findings.map((f) => h('tr',
          h('td', h('a', { href: `#/golden/${encodeURIComponent(domain)}/${encodeURIComponent(f.golden_id)}` }, f.golden_id)),
          h('td', f.attribute),
          h('td', h('ul.values', f.values.map(value))))))),
      h('p.muted', `${num(c.findings.length)} of ${num(c.total)} shown.`),
      h('div.pager',
        h('button', { type: 'button', disabled: !conflictPages.length, onclick: () => disagreements(conflictPages.pop()) }, '← Previous conflicts'),
        h('button', { type: 'button', disabled: c.next_offset === null || c.next_offset === undefined, onclick: () => { conflictPages.push(offset); disagreements(c.next_offset); } }, 'Next conflicts →'))]
      : h('p.muted', 'No golden record has sources that disagree.'));
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
    h('div.card', h('h3', 'Values no golden record will publish (invalid or placeholders)'), values),
    h('div.card', h('h3', 'Values the sources disagree on (names and free text aside)'), conflicts));
  counts();
  show(undefined);
  unpublished();
  disagreements(0);
}

/** The file name without its directories (the full path is the cell's tooltip). */
function basename(path) {
  const parts = String(path).split(/[\\/]/);
  return parts[parts.length - 1] || path;
}
