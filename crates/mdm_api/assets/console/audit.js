// The audit log: filter by domain, actor, action, golden ID and free text; page back in
// time; export the same filter as CSV or NDJSON (fetched with the token, saved as a file).

import { get, qs, seg, download } from './api.js';
import { h, mount, main, when, field, loading, failure, toast } from './dom.js';

const ACTIONS = ['decision.must_link', 'decision.cannot_link', 'decision.withdraw', 'golden.merge', 'golden.split',
  'golden.edit', 'golden.unlock', 'golden.undo_merge', 'reconcile.merge', 'reconcile.split', 'review.assign'];
const LIMIT = 50;

export function render(ctx) {
  const root = main();
  const f = { domain: '', actor: '', action: '', golden_id: '', q: '' };
  const pages = []; // `before` of each page shown, to go back to newer pages
  const domain = h('select', { id: 'a-domain' }, h('option', { value: '' }, 'All'), ctx.domains.map((d) => h('option', { value: d }, d)));
  const actor = h('input', { id: 'a-actor', type: 'text', size: 12, autocomplete: 'off' });
  const action = h('select', { id: 'a-action' }, h('option', { value: '' }, 'All'),
    ['decision.', 'golden.', 'reconcile.'].map((p) => h('option', { value: p }, `${p}*`)), ACTIONS.map((a) => h('option', { value: a }, a)));
  const golden = h('input', { id: 'a-golden', type: 'text', size: 26, autocomplete: 'off' });
  const text = h('input', { id: 'a-text', type: 'search', size: 16, autocomplete: 'off' });
  const body = h('div');
  const read = () => Object.assign(f, { domain: domain.value, actor: actor.value.trim(), action: action.value, golden_id: golden.value.trim(), q: text.value.trim() });

  async function show(before) {
    mount(body, loading('the audit log'));
    let page;
    try {
      page = await get(`/v1/audit${qs({ ...f, before, limit: LIMIT })}`);
    } catch (err) {
      mount(body, failure(err));
      return;
    }
    const rows = page.entries.map((e) => h('tr',
      h('td.nowrap', when(e.at)), h('td', e.actor), h('td', h('span.badge', e.action)), h('td', e.domain),
      h('td', e.golden_ids.map((g, i) => [i ? ' ' : '', h('a.gid', { href: `#/golden/${seg(e.domain)}/${seg(g)}` }, g)])),
      h('td', e.reason || h('span.muted', '—')),
      h('td.num', e.run_id ?? ''),
      h('td.change', changeLines(e).map((l) => h('div', l)))));
    mount(body,
      rows.length
        ? h('table', { 'aria-label': 'Audit entries' },
          h('thead', h('tr', ['When', 'Actor', 'Action', 'Domain', 'Golden IDs', 'Reason', 'Run', 'Change'].map((t) => h(t === 'Run' ? 'th.num' : 'th', { scope: 'col' }, t)))),
          h('tbody', rows))
        : h('div.card.empty', 'No audit entries match.'),
      h('div.pager',
        h('button', { type: 'button', disabled: !pages.length, onclick: () => show(pages.pop()) }, '← Newer'),
        h('button', { type: 'button', disabled: !page.next_before, onclick: () => { pages.push(before); show(page.next_before); } }, 'Older →')));
  }

  const exp = (format) => async () => {
    read();
    try {
      await download(`/v1/audit/export${qs({ ...f, format })}`, `mdm-audit.${format}`);
    } catch (err) { toast(`Export failed: ${err.message}`, 'error'); }
  };

  mount(root,
    h('div.titlebar', h('h1', 'Audit log'), h('span.muted', 'Every steward action and every automatic merge or split, newest first.')),
    h('form.toolbar', {
      'aria-label': 'Audit filters',
      onsubmit: (e) => { e.preventDefault(); read(); pages.length = 0; show(undefined); },
    },
    field('Domain', domain), field('Actor', actor), field('Action', action), field('Golden ID', golden), field('Text', text),
    h('button.primary', { type: 'submit' }, 'Search'),
    h('span.spacer'),
    h('button', { type: 'button', onclick: exp('csv') }, 'Export CSV'),
    h('button', { type: 'button', onclick: exp('ndjson') }, 'Export NDJSON')),
    body);
  show(undefined);
}

/** What changed, one `key: old → new` line per key of before/after (nested values flattened
 * to `a.b`); a key only one side has shows `—` on the other. */
export function changeLines(e) {
  const flat = (v, prefix = '', out = {}) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) flat(x, prefix ? `${prefix}.${k}` : k, out);
    } else if (prefix) out[prefix] = v;
    return out;
  };
  const text = (v) => (v === undefined || v === null || v === '' ? '—'
    : Array.isArray(v) ? v.map(text).join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const before = flat(e.before);
  const after = flat(e.after);
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return keys.map((k) => {
    if (!(k in before)) return `${k}: ${text(after[k])}`;
    if (!(k in after)) return `${k}: ${text(before[k])} → —`;
    return text(before[k]) === text(after[k]) ? `${k}: ${text(after[k])}` : `${k}: ${text(before[k])} → ${text(after[k])}`;
  });
}
