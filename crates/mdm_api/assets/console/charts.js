// Small SVG charts drawn here (no library, nothing fetched): horizontal bars and a line.
// Each chart is an <svg role="img"> with a label and a <title>, and its numbers are also
// shown as text, so they are readable without the picture.

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function frame(label, width, height) {
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label, class: 'chart' });
  svg.append(s('title', {}, label));
  return svg;
}

/** Horizontal bars: items [{label, value}], `fmt` formats a value. */
export function bars(label, items, fmt = String, { width = 380, color = 'var(--accent)' } = {}) {
  const row = 22;
  const labelW = 90;
  const valueW = 64;
  const height = Math.max(row * items.length + 8, 30);
  const svg = frame(label, width, height);
  const max = Math.max(...items.map((i) => i.value), 0) || 1;
  const span = width - labelW - valueW;
  if (!items.length) svg.append(s('text', { x: 4, y: 18 }, 'no data'));
  items.forEach((it, i) => {
    const y = 4 + i * row;
    svg.append(s('text', { x: labelW - 6, y: y + 14, 'text-anchor': 'end' }, it.label));
    const w = Math.max((it.value / max) * span, it.value > 0 ? 2 : 0);
    svg.append(s('rect', { x: labelW, y: y + 3, width: w, height: row - 8, rx: 2, fill: it.color || color }));
    svg.append(s('text', { x: labelW + w + 5, y: y + 14, class: 'value' }, fmt(it.value)));
  });
  return svg;
}

/** A line over points [{x: label, y: value}] in order, with dots and the last value. */
export function line(label, points, fmt = String, { width = 380, height = 140 } = {}) {
  const svg = frame(label, width, height);
  const pad = { l: 36, r: 12, t: 10, b: 22 };
  if (!points.length) {
    svg.append(s('text', { x: 4, y: 18 }, 'no runs yet'));
    return svg;
  }
  const max = Math.max(...points.map((p) => p.y), 0) || 1;
  const iw = width - pad.l - pad.r;
  const ih = height - pad.t - pad.b;
  const x = (i) => pad.l + (points.length === 1 ? iw / 2 : (i * iw) / (points.length - 1));
  const y = (v) => pad.t + ih - (v / max) * ih;
  svg.append(s('line', { x1: pad.l, y1: pad.t + ih, x2: pad.l + iw, y2: pad.t + ih, class: 'axis' }));
  svg.append(s('text', { x: pad.l - 4, y: pad.t + 8, 'text-anchor': 'end' }, fmt(max)));
  svg.append(s('text', { x: pad.l - 4, y: pad.t + ih, 'text-anchor': 'end' }, '0'));
  const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ');
  svg.append(s('path', { d, class: 'line' }));
  points.forEach((p, i) => {
    const dot = s('circle', { cx: x(i), cy: y(p.y), r: 3, class: 'dot' });
    dot.append(s('title', {}, `${p.x}: ${fmt(p.y)}`));
    svg.append(dot);
  });
  const step = Math.ceil(points.length / 8);
  points.forEach((p, i) => {
    if (i % step === 0 || i === points.length - 1) {
      svg.append(s('text', { x: x(i), y: height - 6, 'text-anchor': 'middle' }, p.x));
    }
  });
  return svg;
}
