// A golden record: surviving values with their lineage (system, source record, rule) and
// steward locks; edit (locks the value) and unlock; its members (the xref), split one out;
// merge with another golden record or undo a merge; its relationships (relations.js); the
// version history with reasons.
// Every change sends the version the steward saw; a 409 says so plainly and reloads.

import { api, get, post, seg, qs } from './api.js';
import { h, mount, main, when, field, loading, failure, toast, hideToast } from './dom.js';
import { card as relationshipsCard } from './relations.js';

const show = (v) => (v === null || v === undefined || v === '' ? h('span.muted', '(empty)') : String(v));

export function render(ctx, domain, id) {
  if (!id) return lookup(ctx);
  return detail(ctx, domain || ctx.domain, id, null, main());
}

/** Find a golden record by its ID or by a source record. */
function lookup(ctx) {
  const root = main();
  const domain = ctx.domain;
  const gid = h('input', { id: 'g-id', type: 'text', size: 40, autocomplete: 'off' });
  const system = h('select', { id: 'g-system' }, (ctx.systems[domain] || []).map((s) => h('option', { value: s }, s)));
  const sid = h('input', { id: 'g-source', type: 'text', size: 24, autocomplete: 'off' });
  const msg = h('p.error', { role: 'alert' });
  mount(root,
    h('div.titlebar', h('h1', `Golden records · ${domain}`)),
    h('form.card', { 'aria-label': 'Open by golden ID', onsubmit: (e) => { e.preventDefault(); if (gid.value.trim()) ctx.go(`#/golden/${seg(domain)}/${seg(gid.value.trim())}`); } },
      h('h2', 'Open by golden ID'),
      h('div.toolbar', field('Golden ID', gid), h('button.primary', { type: 'submit' }, 'Open'))),
    h('form.card', {
      'aria-label': 'Find by source record',
      onsubmit: async (e) => {
        e.preventDefault();
        msg.textContent = '';
        try {
          const x = await get(`/v1/${seg(domain)}/xref/${seg(system.value)}/${seg(sid.value.trim())}`);
          ctx.go(`#/golden/${seg(domain)}/${seg(x.golden_id)}`);
        } catch (err) {
          msg.textContent = err.status === 404 ? 'No golden record holds this source record.' : err.message;
        }
      },
    },
    h('h2', 'Find by source record'),
    h('div.toolbar', field('System', system), field('Source ID', sid), h('button.primary', { type: 'submit' }, 'Find'))),
    msg);
  gid.focus();
}

async function detail(ctx, domain, id, notice, root) {
  mount(root, loading('the golden record'));
  const base = `/v1/${seg(domain)}/golden/${seg(id)}`;
  let g, members, locks, history;
  try {
    g = await get(`${base}?lineage=true`);
    const live = `/v1/${seg(domain)}/golden/${seg(g.golden_id)}`;
    [members, locks, history] = await Promise.all([get(`${live}/members`), get(`${live}/locks`), get(`${live}/history`)]);
  } catch (err) {
    mount(root, failure(err), h('p', h('a', { href: '#/golden' }, '← Find another golden record')));
    return;
  }
  const gbase = `/v1/${seg(domain)}/golden/${seg(g.golden_id)}`;
  if (notice) hideToast(); // the notice says what happened; nothing may cover it
  const reload = (n) => detail(ctx, domain, g.golden_id, n, root);
  const reason = h('input', { id: 'g-reason', type: 'text', maxlength: 2000, size: 40, autocomplete: 'off', placeholder: 'why (recorded in the audit log)' });

  /** Runs a change; a version conflict reloads the record with a clear notice. */
  async function change(what, fn) {
    try {
      const out = await fn();
      toast(`${what}: done.`);
      return out;
    } catch (err) {
      if (err.status === 409 && err.problem.code === 'version_conflict') {
        const now = err.problem.current_version;
        reload({
          kind: 'error',
          text: `Conflict: this golden record changed after you opened it (you saw version ${g.version}${now ? `, it is now version ${now}` : ''}). `
            + 'Nothing was changed. The record has been reloaded; check the values and try again.',
        });
      } else toast(`${what} failed: ${err.message}`, 'error');
      return null;
    }
  }

  const lockOf = Object.fromEntries(locks.locks.map((l) => [l.attribute, l]));
  const attrRows = Object.keys(g.attributes).sort().map((attr) => {
    const lin = (g.lineage || {})[attr];
    const lock = lockOf[attr];
    const row = h('tr');
    const view = () => mount(row,
      h('th', { scope: 'row' }, attr),
      h('td.value', show(g.attributes[attr]), lock ? [' ', h('span.badge.lock', { title: `locked by ${lock.locked_by} at ${when(lock.locked_at)}` }, `locked by ${lock.locked_by}`)] : null),
      h('td.src', lin ? [h('span.sys', lin.system), ' ', lin.source_id] : h('span.muted', '—')),
      h('td', lin ? h('span.rule', lin.rule) : ''),
      h('td.actions',
        h('button', { type: 'button', 'aria-label': `Edit ${attr}`, onclick: edit }, 'Edit'),
        lock ? h('button', {
          type: 'button',
          'aria-label': `Unlock ${attr}`,
          onclick: async () => {
            const r = await change(`Unlock ${attr}`, () => api('DELETE', `${gbase}/attributes/${seg(attr)}/lock${qs({ version: g.version, reason: reason.value.trim() })}`));
            if (r) reload(null);
          },
        }, 'Unlock') : null));
    function edit() {
      const input = h('input', { type: 'text', value: g.attributes[attr] ?? '', 'aria-label': `New value for ${attr}`, size: 32 });
      mount(row,
        h('th', { scope: 'row' }, attr),
        h('td', { colspan: 4 },
          h('form.inline', {
            'aria-label': `Edit ${attr}`,
            onsubmit: async (e) => {
              e.preventDefault();
              const r = await change(`Edit ${attr}`, () => api('PUT', `${gbase}/attributes/${seg(attr)}`, { value: input.value, version: g.version, reason: reason.value.trim() }));
              if (r) reload(null);
            },
          },
          input,
          h('button.primary', { type: 'submit' }, 'Save'),
          h('button', { type: 'button', onclick: view }, 'Cancel'),
          h('span.muted', 'Saving locks the value against survivorship until unlocked.'))));
      input.focus();
    }
    view();
    return row;
  });

  const memberRows = members.members.map((m) => {
    const cell = h('td.actions');
    const ask = () => mount(cell, h('button', { type: 'button', 'aria-label': `Split out ${m.system} ${m.source_id}`, onclick: confirm, disabled: members.members.length < 2 }, 'Split out'));
    function confirm() {
      mount(cell,
        h('button.different', {
          type: 'button',
          onclick: async () => {
            const r = await change(`Split ${m.system} ${m.source_id}`, () => post(`${gbase}/split`, { system: m.system, source_id: m.source_id, version: g.version, reason: reason.value.trim() }));
            if (r) reload({ kind: 'info', text: `${m.system} ${m.source_id} now has golden record ${r.new_golden_id}.` });
          },
        }, `Confirm split of ${m.system} ${m.source_id}`),
        ' ', h('button', { type: 'button', onclick: ask }, 'Cancel'));
    }
    ask();
    const vals = Object.entries(m.values || {}).filter(([, v]) => v !== null && v !== '').slice(0, 4).map(([k, v]) => `${k}: ${v}`).join(' · ');
    return h('tr', { title: vals }, h('td', h('span.sys', m.system)), h('td.src', m.source_id), h('td.muted.nowrap', when(m.loaded_at)), cell);
  });

  const other = h('input', { id: 'g-other', type: 'text', size: 38, autocomplete: 'off' });
  const retired = h('input', { id: 'g-retired', type: 'text', size: 38, autocomplete: 'off' });
  const historyRows = history.versions.slice().reverse().map((v) => h('tr',
    h('td.num', v.version), h('td', v.reason), h('td', v.status), h('td', when(v.valid_from)), h('td.num', v.run_id),
    h('td.value.clip', v.detail ? JSON.stringify(v.detail) : '')));

  const statusCls = g.status === 'active' ? 'good' : 'warn';
  mount(root,
    h('div.titlebar',
      h('h1', 'Golden record'), h('code.gid', g.golden_id),
      h(`span.badge.${statusCls}`, g.status), h('span.muted', `version ${g.version} · since ${when(g.valid_from)} · ${domain}`),
      h('span.spacer'), h('a', { href: '#/golden' }, 'Find another')),
    notice ? h(`div.card.notice.${notice.kind}`, { role: notice.kind === 'error' ? 'alert' : 'status' }, notice.text) : null,
    g.redirected_from ? h('div.card.notice.info', { role: 'status' }, `${g.redirected_from} was merged into this record.`) : null,
    h('div.card.reasonbar', field('Reason for changes', reason), h('span.muted', 'Sent with edit, unlock, split, merge and undo; every change is in the audit log.')),
    h('div.cols',
      h('section.card', { 'aria-labelledby': 'h-attrs' },
        h('h2', { id: 'h-attrs' }, 'Attributes'),
        h('table', { 'aria-label': 'Attributes' },
          h('thead', h('tr', ['Attribute', 'Value', 'From', 'Rule', ''].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', attrRows))),
      h('div',
        h('section.card', { 'aria-labelledby': 'h-members' },
          h('h2', { id: 'h-members' }, `Members (${members.members.length})`),
          h('table', { 'aria-label': 'Members' },
            h('thead', h('tr', ['System', 'Source ID', 'Loaded', ''].map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', memberRows))),
        h('section.card', { 'aria-labelledby': 'h-merge' },
          h('h2', { id: 'h-merge' }, 'Merge'),
          h('form.toolbar', {
            'aria-label': 'Merge with another golden record',
            onsubmit: async (e) => {
              e.preventDefault();
              const oid = other.value.trim();
              if (!oid) return;
              const r = await change('Merge', async () => {
                const o = await get(`/v1/${seg(domain)}/golden/${seg(oid)}`);
                return post(`${gbase}/merge`, { other: o.golden_id, other_version: o.version, version: g.version, reason: reason.value.trim() });
              });
              if (r) detail(ctx, domain, r.survivor, { kind: 'info', text: `Merged; ${r.retired.join(', ')} now redirect here.` }, root);
            },
          }, field('Other golden ID', other), h('button.primary', { type: 'submit' }, 'Merge')),
          h('form.toolbar', {
            'aria-label': 'Undo a merge',
            onsubmit: async (e) => {
              e.preventDefault();
              const rid = retired.value.trim();
              if (!rid) return;
              const r = await change('Undo merge', () => post(`${gbase}/undo-merge`, { retired_id: rid, version: g.version, reason: reason.value.trim() }));
              if (r) reload({ kind: 'info', text: `Restored ${r.restored.join(', ')}.` });
            },
          }, field('Retired ID', retired), h('button', { type: 'submit' }, 'Undo merge'))))),
    relationshipsCard(domain, g.golden_id, ctx.domains),
    h('section.card', { 'aria-labelledby': 'h-history' },
      h('h2', { id: 'h-history' }, 'History'),
      h('table', { 'aria-label': 'History' },
        h('thead', h('tr', ['Version', 'Reason', 'Status', 'Valid from', 'Run', 'Detail'].map((t, i) => h(i === 0 || i === 4 ? 'th.num' : 'th', { scope: 'col' }, t)))),
        h('tbody', historyRows))));
}
