// The console shell: sign-in state, the domain picker, and hash routing to the pages
// (#/dashboard, #/queue, #/review/DOMAIN/ID, #/golden[/DOMAIN/ID], #/hierarchy/DOMAIN/ID/TYPE,
// #/audit, #/quality).

import { get, token, signOut } from './api.js';
import { h, mount, newView, toast, staleToast, isTyping } from './dom.js';
import * as signin from './signin.js';
import * as dashboard from './dashboard.js';
import * as queue from './queue.js';
import * as compare from './compare.js';
import * as golden from './golden.js';
import * as audit from './audit.js';
import * as quality from './quality.js';
import * as relations from './relations.js';

const WHO = 'mdm.steward.who';
const DOMAIN = 'mdm.steward.domain';

const ctx = {
  who: null,
  domains: [],
  systems: {},
  get domain() { return sessionStorage.getItem(DOMAIN) || this.domains[0] || 'customer'; },
  set domain(d) { sessionStorage.setItem(DOMAIN, d); document.getElementById('domain').value = d; },
  go(hash) { if (location.hash === hash) route(); else location.hash = hash; },
};

let cleanup = null;
let generation = 0;

const pages = {
  dashboard: () => dashboard.render(ctx),
  queue: () => queue.render(ctx),
  review: (domain, id) => compare.render(ctx, domain, Number(id)),
  golden: (domain, id) => golden.render(ctx, domain, id),
  hierarchy: (domain, id, type) => relations.hierarchy(ctx, domain, id, type),
  audit: () => audit.render(ctx),
  quality: () => quality.render(ctx),
};

async function route() {
  if (cleanup) { cleanup(); cleanup = null; }
  staleToast();
  const gen = ++generation;
  newView();
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (!token()) {
    showShell(false);
    signin.render(async (who) => {
      sessionStorage.setItem(WHO, JSON.stringify(who));
      await start(who);
      ctx.go(parts[0] && parts[0] !== 'signin' ? location.hash : '#/queue');
    });
    return;
  }
  const name = pages[parts[0]] ? parts[0] : 'queue';
  if (parts[1] && ctx.domains.includes(parts[1])) ctx.domain = parts[1];
  for (const a of document.querySelectorAll('[data-nav]')) {
    const on = a.dataset.nav === ({ review: 'queue', hierarchy: 'golden' }[name] || name);
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  showShell(true);
  document.getElementById('main').focus({ preventScroll: true });
  const r = pages[name](...parts.slice(1));
  const done = (r && typeof r.then === 'function' ? await r : r) || null;
  // Another page was opened while this one loaded: undo what this one installed.
  if (gen !== generation) { if (done) done(); } else cleanup = done;
}

function showShell(on) {
  document.querySelector('header.top').hidden = !on;
}

/** After sign-in (or a reload with a token): who am I, which domains exist. */
async function start(who) {
  ctx.who = who;
  document.getElementById('who').textContent = `${who.label || who.token_id} (${who.role})`;
  try {
    const d = await get('/v1/dashboard');
    ctx.domains = d.domains.map((x) => x.domain);
    ctx.systems = Object.fromEntries(d.domains.map((x) => [x.domain, x.systems.map((s) => s.system)]));
  } catch (_) {
    ctx.domains = [];
  }
  if (!ctx.domains.length) ctx.domains = ['customer'];
  const sel = document.getElementById('domain');
  mount(sel, ctx.domains.map((d) => h('option', { value: d }, d)));
  if (!ctx.domains.includes(ctx.domain)) sessionStorage.setItem(DOMAIN, ctx.domains[0]);
  sel.value = ctx.domain;
}

document.getElementById('domain').addEventListener('change', (e) => {
  ctx.domain = e.target.value;
  const page = location.hash.replace(/^#\/?/, '').split('/')[0];
  // Pages of one record belong to the old domain: go to the new domain's list instead.
  ctx.go(`#/${{ review: 'queue', golden: 'golden', hierarchy: 'golden', dashboard: 'dashboard', audit: 'audit', quality: 'quality' }[page] || 'queue'}`);
});

document.getElementById('signout').addEventListener('click', () => {
  signOut();
  ctx.who = null;
  toast('Signed out.');
  ctx.go('#/signin');
});

window.addEventListener('mdm:signedout', () => {
  toast('The token is no longer valid; please sign in again.', 'error');
  route();
});

window.addEventListener('hashchange', route);

// `?` anywhere (outside text fields) shows the keyboard help.
document.addEventListener('keydown', (e) => {
  if (e.key === '?' && !isTyping(e.target)) {
    e.preventDefault();
    const d = document.getElementById('help');
    if (!d.open) d.showModal();
  }
});

(async () => {
  if (token()) {
    let who = null;
    try {
      who = await get('/v1/whoami');
    } catch (_) {
      signOut();
    }
    if (who) await start(who);
  }
  route();
})();
