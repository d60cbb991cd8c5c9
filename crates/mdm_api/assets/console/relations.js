// Relationships between golden records: the card on a golden record's page (each link by
// type, direction and the record at the other end, with the systems whose links support
// it), and the hierarchy page (#/hierarchy/DOMAIN/ID/TYPE), which walks a one-parent type
// up to the ultimate parent and down the subtree a page at a time. Records are shown by
// name, fetched for the few on screen: a bare golden ID tells a steward nothing.

import { get, seg, qs } from './api.js';
import { h, mount, main, loading, failure } from './dom.js';

/** Levels walked up (to the ultimate parent) and down (a subtree page) at once. */
const DEPTH = 10;
const PAGE = 50;

/** The name a golden record goes by: an organization's, a person's, a product's. */
function nameOf(g) {
  const a = (g && g.attributes) || {};
  const person = [a.given_name, a.family_name].filter((v) => v).join(' ');
  return a.organization_name || a.name || person || null;
}

/** A link to a golden record whose text becomes its name once fetched. */
function recordLink(domain, id) {
  const a = h('a.rec', { href: `#/golden/${seg(domain)}/${seg(id)}`, title: id }, id);
  get(`/v1/${seg(domain)}/golden/${seg(id)}`)
    .then((g) => { const n = nameOf(g); if (n) mount(a, h('span.name', n), ' ', h('code.gid', id.slice(0, 8))); })
    .catch(() => { /* the ID stays: the record may be gone */ });
  return a;
}

/** Who supports a relationship: each source link's system and origin. */
const sources = (lineage) => (Array.isArray(lineage) ? lineage : [])
  .map((l) => `${l.system} ${l.from_source_id}→${l.to_source_id}${l.origin === 'reference' ? ' (attribute)' : ''}`)
  .join('; ');

const attrs = (a) => Object.entries(a || {}).map(([k, v]) => `${k}: ${v}`).join(' · ');

/** The other end of a relationship: a golden record of a domain, or an ID the hub assigns
 * to a derived group (a household), which is no golden record and has no page here. */
function otherEnd(domains, domain, id) {
  if (!domains || domains.includes(domain)) return recordLink(domain, id);
  return h('span', h('span.muted', `${domain} `), h('code.gid', { title: id }, id));
}

/** The relationships card of golden record `id`: one row per relationship, and a link to
 * the hierarchy view of each type that is a hierarchy. `domains`: the hub's domains. */
export function card(domain, id, domains) {
  const body = h('div', loading('the relationships'));
  const walks = h('div.toolbar');
  const section = h('section.card', { 'aria-labelledby': 'h-rels' }, h('h2', { id: 'h-rels' }, 'Relationships'), body, walks);
  get(`/v1/${seg(domain)}/golden/${seg(id)}/relationships`).then((r) => {
    const list = r.relationships || [];
    if (!list.length) { mount(body, h('p.muted', 'No relationships.')); return; }
    const rows = list.map((x) => {
      const out = x.direction === 'out';
      const otherDomain = out ? x.to_domain : x.from_domain;
      return h('tr',
        h('td', h('span.badge', x.type)),
        h('td', out ? 'to →' : '← from'),
        h('td', otherEnd(domains, otherDomain, x.other_golden_id)),
        h('td.muted', attrs(x.attributes)),
        h('td.src', sources(x.lineage)));
    });
    mount(body, h('table', { 'aria-label': 'Relationships' },
      h('thead', h('tr', ['Type', 'Direction', 'Other record', 'Attributes', 'Source links'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', rows)));
    // Only the types the server says are hierarchies: another walk would be refused.
    const links = (r.hierarchies || []).map((t) => h('a', { href: `#/hierarchy/${seg(domain)}/${seg(r.golden_id)}/${seg(t)}` }, `Hierarchy of ${t}`));
    mount(walks, links);
  }).catch((err) => mount(body, failure(err)));
  return section;
}

/** The hierarchy page: ancestors above the record, its subtree below. */
export async function hierarchy(ctx, domain, id, type) {
  const root = main();
  mount(root, loading('the hierarchy'));
  const base = `/v1/${seg(domain)}/golden/${seg(id)}/hierarchy`;
  let up, down;
  try {
    [up, down] = await Promise.all([
      get(`${base}${qs({ type, direction: 'up', depth: DEPTH })}`),
      get(`${base}${qs({ type, direction: 'down', depth: DEPTH, limit: PAGE })}`),
    ]);
  } catch (err) {
    mount(root, failure(err), h('p', h('a', { href: `#/golden/${seg(domain)}/${seg(id)}` }, '← Back to the golden record')));
    return;
  }
  const here = up.golden_id;
  const walk = (g) => h('a', { href: `#/hierarchy/${seg(domain)}/${seg(g)}/${seg(type)}`, 'aria-label': `Walk from ${g}` }, 'walk from here');
  // Ancestors come nearest first; the page shows the ultimate parent on top.
  const chain = up.nodes.slice().reverse().map((n) => h('li', recordLink(domain, n.golden_id), ' ', walk(n.golden_id)));
  const tree = h('tbody');
  const more = h('div.toolbar');
  const addRows = (page) => {
    for (const n of page.nodes) {
      tree.append(h('tr', { dataset: { depth: n.depth } },
        h('td.num', n.depth),
        h('td', recordLink(domain, n.golden_id)),
        h('td', recordLink(domain, n.via)),
        h('td.muted', attrs(n.relationship.attributes)),
        h('td.actions', walk(n.golden_id))));
    }
    mount(more, page.next_cursor ? h('button', {
      type: 'button',
      onclick: async () => {
        const next = await get(`${base}${qs({ type, direction: 'down', depth: DEPTH, limit: PAGE, cursor: page.next_cursor })}`);
        addRows(next);
      },
    }, 'More of the subtree') : null);
  };
  addRows(down);
  mount(root,
    h('div.titlebar', h('h1', `Hierarchy · ${type}`), h('span.muted', domain), h('span.spacer'),
      h('a', { href: `#/golden/${seg(domain)}/${seg(here)}` }, 'Back to the golden record')),
    h('section.card', { 'aria-labelledby': 'h-up' },
      h('h2', { id: 'h-up' }, 'Parents up to the top'),
      chain.length
        ? h('ol.chain', { 'aria-label': 'Parents' }, chain)
        : h('p.muted', 'None: this record is at the top.'),
      up.complete ? null : h('p.muted', `Only the ${DEPTH} nearest levels are shown; walk from the top one for more.`)),
    h('section.card', { 'aria-labelledby': 'h-here' },
      h('h2', { id: 'h-here' }, 'This record'), h('p', recordLink(domain, here))),
    h('section.card', { 'aria-labelledby': 'h-down' },
      h('h2', { id: 'h-down' }, 'Below it'),
      down.nodes.length
        ? h('table', { 'aria-label': 'Subtree' },
          h('thead', h('tr', ['Level', 'Record', 'Under', 'Attributes', ''].map((t, i) => h(i === 0 ? 'th.num' : 'th', { scope: 'col' }, t)))),
          tree)
        : h('p.muted', 'Nothing below this record.'),
      more));
}
