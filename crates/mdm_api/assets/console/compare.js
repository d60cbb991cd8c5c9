// One review pair side by side: each comparison's level and weight (green for evidence
// for a match, red against), the prior and total weight and the probability; decide
// Same (must-link) / Not same (cannot-link) / Skip, by button or key (s, d, x, j/n, k, ?).

import { get, post, seg } from './api.js';
import { h, mount, main, num, pct, signed, loading, failure, toast, isTyping } from './dom.js';
import { order, setOrder, page } from './queue.js';

const rec = (s) => `${s.system} ${s.source_id}`;
const show = (v) => (v === null || v === undefined || v === '' ? h('span.muted', '(empty)') : String(v));

export async function render(ctx, domain, id) {
  const root = main();
  mount(root, loading('the pair'));
  let d;
  try {
    d = await get(`/v1/${seg(domain)}/review/${id}`);
  } catch (err) {
    mount(root, failure(err), h('p', h('a', { href: '#/queue' }, '← Back to the queue')));
    return null;
  }
  const it = d.item;
  const ids = order(domain);
  const at = ids.indexOf(id);

  /** The pair after (step 1) or before (-1) this one in the queue page last shown. */
  async function move(step, decided) {
    let list = ids.slice();
    if (decided) list = list.filter((x) => x !== id);
    let i = at < 0 ? 0 : decided && step > 0 ? at : at + step;
    if (i >= 0 && i < list.length) {
      setOrder(domain, list);
      ctx.go(`#/review/${seg(domain)}/${list[i]}`);
      return;
    }
    if (step > 0) {
      // End of the page: the queue's first page again (decided pairs have left it).
      try {
        const p = await page(domain);
        const next = p.items.map((x) => x.id).filter((x) => x !== id);
        setOrder(domain, next);
        if (next.length) { ctx.go(`#/review/${seg(domain)}/${next[0]}`); return; }
      } catch (err) { toast(err.message, 'error'); return; }
      toast('The queue is empty.');
      ctx.go('#/queue');
    } else toast('This is the first pair.');
  }

  const reason = h('input', { id: 'reason', type: 'text', maxlength: 2000, placeholder: 'e.g. same tax id', autocomplete: 'off' });
  let busy = false;
  async function decide(kind) {
    if (busy) return;
    busy = true;
    try {
      await post(`/v1/${seg(domain)}/decisions`, {
        kind,
        a: { system: it.a.system, source_id: it.a.source_id },
        b: { system: it.b.system, source_id: it.b.source_id },
        reason: reason.value.trim(),
      });
      toast(kind === 'must_link'
        ? `Decided: same entity (${rec(it.a)} = ${rec(it.b)}); the next reconcile merges them.`
        : `Decided: not the same (${rec(it.a)} ≠ ${rec(it.b)}); the next reconcile keeps them apart.`);
      await move(1, true);
    } catch (err) {
      toast(err.message, 'error');
    } finally {
      busy = false;
    }
  }

  const maxW = Math.max(...d.comparisons.map((c) => Math.abs(c.weight)), 1);
  const cmpRows = d.comparisons.map((c) => {
    const cls = c.weight > 0 ? 'pos' : c.weight < 0 ? 'neg' : 'zero';
    return h(`tr.${cls}`,
      h('th', { scope: 'row' }, c.name),
      h('td.value', show(c.a)),
      h('td.value', show(c.b)),
      h('td', levelOf(c.level, cls)),
      h(`td.num.${cls}`, signed(c.weight)),
      h('td.barcell', h(`span.bar.${cls}`, { style: null, 'aria-hidden': 'true', dataset: { w: Math.round((Math.abs(c.weight) / maxW) * 100) } })));
  });
  const attrs = [...new Set([...Object.keys(d.a_values), ...Object.keys(d.b_values)])].sort();
  const rawRows = attrs.map((k) => {
    const a = d.a_values[k];
    const b = d.b_values[k];
    return h(a === b ? 'tr' : 'tr.differs', h('th', { scope: 'row' }, k), h('td.value', show(a)), h('td.value', show(b)));
  });
  const goldenLink = (s) => h('a', { href: `#/golden/${seg(domain)}/${seg(s.golden_id)}`, 'aria-label': `Golden record of ${rec(s)}` }, 'golden record');
  const probCls = d.probability >= d.thresholds.match ? 'pos' : d.probability < d.thresholds.review ? 'neg' : 'warn';

  const btn = (cls, text, key, onclick) => h(`button.${cls}`, { type: 'button', 'aria-keyshortcuts': key, title: `Shortcut: ${key}`, onclick },
    text, h('kbd', { 'aria-hidden': 'true' }, key));
  mount(root,
    h('div.titlebar',
      h('h1', 'Compare pair'),
      h('span.muted', at >= 0 ? `${at + 1} of ${ids.length} on this queue page` : `review item ${id}`),
      h('span.spacer'),
      h('a', { href: '#/queue' }, '← Queue'),
      h('button', { type: 'button', onclick: () => move(-1), 'aria-keyshortcuts': 'k' }, 'Previous'),
      h('button', { type: 'button', onclick: () => move(1), 'aria-keyshortcuts': 'j n' }, 'Next'),
      h('button', { type: 'button', onclick: () => document.getElementById('help').showModal(), 'aria-keyshortcuts': '?' }, 'Shortcuts')),
    h('section.card.summary', { 'aria-label': 'Score' },
      h('div', h('div.muted', 'Probability'), h(`div.figure.${probCls}`, pct(d.probability))),
      h('div', h('div.muted', 'Total weight'), h('div.figure', signed(d.total_weight))),
      h('div', { title: PRIOR_TIP }, h('div.muted', 'Prior weight ', h('span.tip', { 'aria-hidden': 'true' }, 'ⓘ')), h('div.figure', signed(d.prior_weight))),
      h('div', h('div.muted', 'Thresholds'), h('div', `match ≥ ${pct(d.thresholds.match, 0)}`), h('div', `review ≥ ${pct(d.thresholds.review, 0)}`)),
      h('div', h('div.muted', 'Cluster size'), h('div.figure', it.cluster_size)),
      h('div', h('div.muted', 'Assigned'), h('div', it.assigned_to || '—')),
      d.override_rule ? h('div', h('div.muted', 'Override rule'), h('div', d.override_rule)) : null),
    h('table.compare', { 'aria-label': 'Comparisons' },
      h('thead', h('tr',
        h('th', { scope: 'col' }, 'Comparison'),
        h('th', { scope: 'col' }, h('span.sys', it.a.system), ` ${it.a.source_id} · `, goldenLink(it.a)),
        h('th', { scope: 'col' }, h('span.sys', it.b.system), ` ${it.b.source_id} · `, goldenLink(it.b)),
        h('th', { scope: 'col' }, 'Level'),
        h('th.num', { scope: 'col' }, 'Weight'),
        h('th', { scope: 'col' }, h('span.sr', 'Weight bar')))),
      h('tbody', cmpRows),
      h('tfoot', h('tr', h('th', { scope: 'row', colspan: 4, title: PRIOR_TIP }, `Prior ${signed(d.prior_weight)} + comparisons = total`), h('td.num', signed(d.total_weight)), h('td')))),
    h('details.card', h('summary', 'All staged values'),
      h('table.values', { 'aria-label': 'Staged values' },
        h('thead', h('tr', h('th', { scope: 'col' }, 'Attribute'), h('th', { scope: 'col' }, rec(it.a)), h('th', { scope: 'col' }, rec(it.b)))),
        h('tbody', rawRows))),
    h('form.decide', { 'aria-label': 'Decision', onsubmit: (e) => e.preventDefault() },
      h('label', { for: 'reason' }, 'Reason'), reason,
      btn('same', 'Same', 's', () => decide('must_link')),
      btn('different', 'Not same', 'd', () => decide('cannot_link')),
      btn('skip', 'Skip', 'x', () => move(1))));
  for (const b of root.querySelectorAll('span.bar')) b.style.width = `${b.dataset.w * 0.6}px`;

  const onKey = (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || document.getElementById('help').open) return;
    if (isTyping(e.target)) {
      if (e.key === 'Escape') e.target.blur();
      return;
    }
    const act = { s: () => decide('must_link'), d: () => decide('cannot_link'), x: () => move(1), j: () => move(1), n: () => move(1), k: () => move(-1) }[e.key];
    if (act) { e.preventDefault(); act(); }
  };
  document.addEventListener('keydown', onKey);
  return () => document.removeEventListener('keydown', onKey);
}

/** What the prior weight means, for its tooltip. */
const PRIOR_TIP = 'Prior weight: how likely any two records are the same entity before their '
  + 'values are compared (from the share of matching pairs the model learned). '
  + 'Each comparison then adds or subtracts its weight; the total gives the probability.';

/** The engine's implicit levels in a steward's words; named levels as the rules call them. */
const LEVELS = {
  missing: ['no value', 'One or both records have no value here, so this comparison counts neither for nor against a match.'],
  else: ['different', 'The values meet none of the similarity levels of this comparison: they differ.'],
};

function levelOf(level, cls) {
  const [text, tip] = LEVELS[level] || [level, `Level "${level}" of this comparison's rules`];
  return h(`span.level.${cls}`, { title: tip }, text);
}
