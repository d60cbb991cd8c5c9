// Small DOM helpers: build elements without innerHTML (values are personal data and may
// contain markup), format numbers and times.

/** h('tag.class', {attr: value, onclick: fn}, child, ...) -> element */
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let view = null;

/** A fresh container for the page being shown. A page writes only into the container it
 * got, so a late answer for a page already left behind lands nowhere visible. */
export function newView() {
  view = document.createElement('div');
  view.className = 'view';
  document.getElementById('main').replaceChildren(view);
  return view;
}

/** The current page's container. */
export const main = () => view || newView();

export function num(v, digits = 0) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return Number(v).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const pct = (v, digits = 1) => (v === null || v === undefined ? '–' : `${num(v * 100, digits)} %`);

export const signed = (v, digits = 2) => (v > 0 ? '+' : v < 0 ? '−' : '') + num(Math.abs(v), digits);

/** "2026-11-28 14:03:07" in the browser's time zone. */
export function when(rfc3339) {
  if (!rfc3339) return '–';
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A short notice at the top left; errors stay until the next notice. */
export function toast(text, kind = 'info') {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.className = kind;
  t.hidden = false;
  toast.shownAt = Date.now();
  clearTimeout(toast.timer);
  if (kind !== 'error') toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

export function hideToast() {
  document.getElementById('toast').hidden = true;
}

/** Hides a notice shown more than a moment ago (called on navigation). */
export function staleToast() {
  const t = document.getElementById('toast');
  if (!t.hidden && t.className !== 'error' && Date.now() - (toast.shownAt || 0) > 1500) t.hidden = true;
}

/** A labelled control: <label>Text <control></label>. */
export const field = (text, control, cls = 'field') => h(`label.${cls}`, text, ' ', control);

export function loading(what) {
  return h('p.muted', { role: 'status' }, `Loading ${what}…`);
}

/** An error box for a failed request. */
export function failure(err) {
  return h('div.card.error', { role: 'alert' }, err.message || String(err));
}

/** Whether a key press goes into a text field (shortcuts stay out of the way then). */
export function isTyping(el) {
  return Boolean(el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName)));
}
