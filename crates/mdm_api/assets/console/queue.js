// The review queue of a domain: pairs the engine was unsure about, highest priority first,
// filtered by source system and assignment; assign to me; open a pair to compare.

import { get, post, qs, seg } from './api.js';
import { h, mount, main, num, pct, field, loading, failure, toast } from './dom.js';

const FILTER = 'mdm.steward.queue.filter';
const ORDER = 'mdm.steward.queue.order';
const LIMIT = 50;

export function filters() {
  try { return { system: '', assigned: '', offset: 0, ...JSON.parse(sessionStorage.getItem(FILTER) || '{}') }; } catch (_) { return { system: '', assigned: '', offset: 0 }; }
}

/** The ids of the page last shown, so the compare view can go to the next pair. */
export function order(domain) {
  try {
    const o = JSON.parse(sessionStorage.getItem(ORDER) || 'null');
    return o && o.domain === domain ? o.ids : [];
  } catch (_) { return []; }
}

export function setOrder(domain, ids) {
  sessionStorage.setItem(ORDER, JSON.stringify({ domain, ids }));
}

/** One page of the queue with the saved filters. */
export function page(domain, f = filters()) {
  return get(`/v1/${seg(domain)}/review${qs({ system: f.system, assigned: f.assigned, limit: LIMIT, offset: f.offset })}`);
}

/** A record as the queue shows it: its name (when it has one) over its system and ID. */
const side = (s) => h('span.rec',
  s.name ? h('span.name', s.name) : null,
  h('span.key', h('span.sys', s.system), ' ', s.source_id));

export async function render(ctx) {
  const root = main();
  const domain = ctx.domain;
  const f = filters();
  const save = () => sessionStorage.setItem(FILTER, JSON.stringify(f));
  const systems = ctx.systems[domain] || [];
  const system = h('select', { id: 'q-system', onchange: (e) => { f.system = e.target.value; f.offset = 0; save(); render(ctx); } },
    h('option', { value: '' }, 'All systems'),
    systems.map((s) => h('option', { value: s }, s)));
  system.value = f.system;
  const assigned = h('select', { id: 'q-assigned', onchange: (e) => { f.assigned = e.target.value; f.offset = 0; save(); render(ctx); } },
    h('option', { value: '' }, 'All'), h('option', { value: 'me' }, 'Assigned to me'), h('option', { value: 'unassigned' }, 'Unassigned'));
  assigned.value = f.assigned;
  const body = h('div', loading('the review queue'));
  mount(root,
    h('div.titlebar', h('h1', `Review queue · ${domain}`),
      h('span.muted', 'Pairs the engine could not decide alone, most useful first. Press ', h('kbd', '?'), ' in a pair for shortcuts.')),
    h('form.toolbar', { 'aria-label': 'Queue filters', onsubmit: (e) => e.preventDefault() },
      field('Source system', system), field('Assignment', assigned)),
    body);

  let data;
  try {
    data = await page(domain, f);
  } catch (err) {
    mount(body, failure(err));
    return;
  }
  setOrder(domain, data.items.map((i) => i.id));
  if (!data.items.length) {
    mount(body, h('div.card.empty', h('p', data.total ? 'No pairs on this page.' : 'Nothing to review with these filters. ')));
    return;
  }
  const open = (it) => ctx.go(`#/review/${seg(domain)}/${it.id}`);
  const rows = data.items.map((it) => {
    const who = (s) => `${s.name ? `${s.name} (${s.system} ${s.source_id})` : `${s.system} ${s.source_id}`}`;
    const label = `${who(it.a)} and ${who(it.b)}`;
    const assign = h('button', {
      type: 'button',
      'aria-label': `Assign to me: ${label}`,
      onclick: async (e) => {
        e.stopPropagation();
        try {
          await post(`/v1/${seg(domain)}/review/${it.id}/assign`, { steward: ctx.who.label || ctx.who.token_id });
          toast('Assigned to you.');
          render(ctx);
        } catch (err) { toast(err.message, 'error'); }
      },
    }, 'Assign to me');
    return h('tr.clickable', { onclick: () => open(it) },
      h('td.num', num(it.priority, 2)),
      h('td', side(it.a)),
      h('td', side(it.b)),
      h('td.num', pct(it.probability)),
      h('td.num', num(it.weight, 2)),
      h('td.num', it.cluster_size),
      h('td', it.assigned_to ? h('span.badge', it.assigned_to) : h('span.muted', '—')),
      h('td.actions',
        h('a', {
          href: `#/review/${seg(domain)}/${it.id}`,
          'aria-label': `Review pair ${label}`,
          dataset: { aSystem: it.a.system, aSource: it.a.source_id, bSystem: it.b.system, bSource: it.b.source_id },
          onclick: (e) => e.stopPropagation(),
        }, 'Review'),
        ' ', it.assigned_to ? null : assign));
  });
  const from = data.total ? f.offset + 1 : 0;
  const to = f.offset + data.items.length;
  const pager = h('div.pager',
    h('span.muted', `${num(from)}–${num(to)} of ${num(data.total)}`),
    h('button', { type: 'button', disabled: f.offset === 0, onclick: () => { f.offset = Math.max(0, f.offset - LIMIT); save(); render(ctx); } }, '← Previous page'),
    h('button', { type: 'button', disabled: to >= data.total, onclick: () => { f.offset += LIMIT; save(); render(ctx); } }, 'Next page →'));
  mount(body,
    h('table.queue', { 'aria-label': 'Review queue' },
      h('thead', h('tr', ['Priority', 'Record A', 'Record B', 'Probability', 'Weight', 'Cluster', 'Assigned', ''].map((t, i) => h(i === 0 || (i >= 3 && i <= 5) ? 'th.num' : 'th', { scope: 'col' }, t)))),
      h('tbody', rows)),
    pager);
}
