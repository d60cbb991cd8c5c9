// End-to-end test of the steward console in a real headless Chromium (Debian's), driven by
// playwright-core. tests/api/console_e2e.rs prepares the world (server, data, a reconcile
// run with review items, a steward token) and runs this script with:
//   CONSOLE_URL      base URL of `mdm serve` (e.g. http://127.0.0.1:41234)
//   STEWARD_TOKEN    a steward token (passed to the page by typing it, never in a URL)
//   MDM_BIN          the mdm binary; MDM_WORKDIR its working directory; MDM_DATABASE_URL
//   E2E_SCREENSHOTS  where the screenshots go (default target/e2e-screenshots/)
//   CHROMIUM         the browser (default /usr/bin/chromium)
//   BAD_DETAIL, BAD_RAW  what the Data quality page must show for the row the test
//                    quarantined (its message and a piece of its raw text, markup included)
// Flow: sign in, queue (each record's name shown), open a pair, decide "same" with the
// keyboard, reconcile, see both records as members of one golden record, edit it (a stale
// version gets a clear 409), unlock, a golden record's relationships and the hierarchy
// view walked up and down, see the decision in the audit log, dashboard, its
// link to Data quality (the quarantined row's reason and raw text, as text; a staged
// placeholder e-mail among the values no golden record will publish; two records of one
// customer whose phones differ, among the values the sources disagree on), sign out.
// The last stdout line is `E2E_RESULT {json}` with the decided pair (and the names the
// queue showed for it); any failure exits 1.

import { chromium } from 'playwright-core';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const need = (name) => {
  const v = process.env[name];
  if (!v) fail(`environment variable ${name} is not set`);
  return v;
};

function fail(msg) {
  console.error(`console e2e FAILED: ${msg}`);
  process.exit(1);
}

const base = need('CONSOLE_URL').replace(/\/$/, '');
const token = need('STEWARD_TOKEN');
const mdm = need('MDM_BIN');
const badDetail = need('BAD_DETAIL');
const badRaw = need('BAD_RAW');
const shots = resolve(process.env.E2E_SCREENSHOTS || 'target/e2e-screenshots');
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(20000);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(`page error: ${e.message}`));
page.on('console', (m) => {
  // The stale edit's 409 is provoked on purpose; Chromium logs every failed request.
  if (m.type() === 'error' && !/status of 409/.test(m.text())) pageErrors.push(`console error: ${m.text()}`);
});
// Chromium's console line for a failed request has no URL: name it.
page.on('response', (r) => {
  if (r.status() >= 400 && r.status() !== 409) pageErrors.push(`failed request: ${r.status()} ${r.url()}`);
});
// Nothing may leave the server's origin, and the token never goes into a URL.
const requests = [];
page.on('request', (r) => requests.push(r.url()));

let n = 0;
async function shot(name) {
  n += 1;
  const file = join(shots, `${String(n).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  console.log(`screenshot ${file}`);
}

let step = 'start';
let pair = null;
const check = (ok, msg) => { if (!ok) throw new Error(msg); };

try {
  step = 'sign in';
  await page.goto(`${base}/console`);
  await page.getByLabel('Steward token').fill(token);
  await shot('sign-in');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: /Review queue/ }).waitFor();
  check((await page.getByText('alice (steward)').count()) === 1, 'the header names the signed-in steward');
  check(await page.evaluate(() => sessionStorage.getItem('mdm.steward.token') !== null), 'the token is kept in sessionStorage');

  step = 'review queue';
  const first = page.getByRole('link', { name: /^Review pair / }).first();
  await first.waitFor();
  pair = {
    a: { system: await first.getAttribute('data-a-system'), source_id: await first.getAttribute('data-a-source') },
    b: { system: await first.getAttribute('data-b-system'), source_id: await first.getAttribute('data-b-source') },
  };
  check(pair.a.system && pair.a.source_id && pair.b.system && pair.b.source_id, 'the queue row names both records');
  const queueTable = page.getByRole('table', { name: 'Review queue' });
  const rows = await queueTable.getByRole('row').count();
  check(rows > 1, 'the queue lists pairs');
  // Each record by its name (over system and ID), not only its ID.
  const firstRow = queueTable.getByRole('row').nth(1);
  for (const [i, s] of [[0, 'a'], [1, 'b']]) {
    const cell = firstRow.getByRole('cell').nth(1 + i);
    const name = cell.locator('.name');
    pair[s].name = (await name.count()) ? (await name.textContent()).trim() : null;
    check((await cell.textContent()).includes(pair[s].source_id), `the queue shows record ${s}'s ID`);
  }
  const names = await queueTable.locator('.rec .name').allTextContents();
  check(names.length >= rows - 1 && names.every((x) => x.trim()), `the queue names the records (${names.length} names in ${rows - 1} rows)`);
  const label = await first.getAttribute('aria-label');
  for (const s of [pair.a, pair.b]) if (s.name) check(label.includes(s.name), `the link's label names ${s.name}: ${label}`);
  await page.getByLabel('Assignment').selectOption('unassigned');
  await page.getByRole('link', { name: /^Review pair / }).first().waitFor();
  await page.getByLabel('Assignment').selectOption('');
  await shot('queue');

  step = 'compare view';
  await page.getByRole('link', { name: label, exact: true }).click();
  await page.getByRole('heading', { name: 'Compare pair' }).waitFor();
  const comparisons = page.getByRole('table', { name: 'Comparisons' });
  await comparisons.waitFor();
  check((await comparisons.getByRole('row').count()) > 3, 'the compare view lists the comparisons');
  check((await page.getByText('Probability', { exact: true }).count()) === 1, 'the compare view shows the probability');
  // Levels in a steward's words: the engine's `missing` and `else` read "no value" and
  // "different"; the prior weight explains itself in a tooltip.
  const reviewId = decodeURIComponent(new URL(page.url()).hash.split('/').pop());
  const explained = await (await fetch(`${base}/v1/customer/review/${reviewId}`, { headers: { Authorization: `Bearer ${token}` } })).json();
  const words = { missing: 'no value', else: 'different' };
  const shown = (await comparisons.locator('span.level').allTextContents()).map((t) => t.trim());
  const want = explained.comparisons.map((c) => words[c.level] || c.level);
  check(JSON.stringify(shown) === JSON.stringify(want), `levels shown ${JSON.stringify(shown)}, expected ${JSON.stringify(want)}`);
  check(!shown.includes('else') && !shown.includes('missing'), `a raw level is shown: ${JSON.stringify(shown)}`);
  const priorTip = await page.getByText('Prior weight').locator('xpath=..').getAttribute('title');
  check(/before their values are compared/.test(priorTip || ''), `the prior weight has a tooltip: ${priorTip}`);
  const buttonBoxes = [];
  for (const name of [/^Same/, /^Not same/, /^Skip/, /^Previous$/, /^Next$/, /^Shortcuts$/]) {
    buttonBoxes.push([String(name), await page.getByRole('button', { name }).boundingBox()]);
  }
  await page.keyboard.press('?');
  await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
  await shot('shortcuts');
  await page.getByRole('button', { name: 'Close' }).click();
  await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor({ state: 'hidden' });
  await page.getByLabel('Reason').fill('same person (e2e)');
  // Keys typed into the reason field stay there; Escape leaves the field for the shortcuts.
  await page.getByLabel('Reason').press('Escape');
  await shot('compare');

  step = 'decide "same" with the keyboard';
  await page.keyboard.press('s');
  await page.getByText(/Decided: same entity/).waitFor();
  // The decision's notice covers none of the buttons (the next pair has them in the same place).
  const toastBox = await page.locator('#toast').boundingBox();
  check(toastBox, 'the decision notice is visible');
  const overlaps = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  for (const [name, box] of buttonBoxes) {
    check(box && !overlaps(toastBox, box), `the decision notice covers the ${name} button: ${JSON.stringify([toastBox, box])}`);
  }
  // The next pair (or the queue, when this was the last) replaces the decided one.
  await page.getByText('Loading the pair…').waitFor({ state: 'hidden' });
  await page.getByRole('heading', { name: /Compare pair|Review queue/ }).waitFor();
  await shot('decided');

  step = 'reconcile';
  const run = spawnSync(mdm, ['reconcile', '--domain', 'customer'], { cwd: process.env.MDM_WORKDIR || process.cwd(), env: process.env, encoding: 'utf8', timeout: 300000 });
  check(run.status === 0, `mdm reconcile exited ${run.status}: ${run.stderr || run.error}`);

  step = 'golden record of the decided pair';
  await page.getByRole('link', { name: 'Golden records' }).click();
  await page.getByLabel('System').selectOption(pair.a.system);
  await page.getByLabel('Source ID').fill(pair.a.source_id);
  await page.getByRole('button', { name: 'Find' }).click();
  await page.getByRole('heading', { name: 'Golden record', exact: true }).waitFor();
  const members = page.getByRole('table', { name: 'Members' });
  await members.waitFor();
  for (const r of [pair.a, pair.b]) {
    const row = members.getByRole('row').filter({ hasText: r.system }).filter({ has: page.getByRole('cell', { name: r.source_id, exact: true }) });
    check((await row.count()) === 1, `${r.system} ${r.source_id} is a member of the golden record`);
  }
  check((await page.getByRole('table', { name: 'Attributes' }).getByRole('row').count()) > 2, 'the golden record shows its attributes');
  check((await page.getByRole('table', { name: 'History' }).getByRole('row').count()) > 1, 'the golden record shows its history');
  await shot('golden');

  step = 'edit with a stale version: a clear 409, then a reload';
  const api = async (method, path, body) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await r.json();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  };
  const x = await api('GET', `/v1/customer/xref/${encodeURIComponent(pair.a.system)}/${encodeURIComponent(pair.a.source_id)}`);
  const g = x.golden;
  const attr = Object.keys(g.attributes).filter((k) => g.attributes[k]).sort()[0];
  // Another steward changes the record behind this page's back.
  await api('PUT', `/v1/customer/golden/${g.golden_id}/attributes/${attr}`, { value: 'changed elsewhere', version: g.version, reason: 'e2e: concurrent edit' });
  await page.getByRole('button', { name: `Edit ${attr}`, exact: true }).click();
  await page.getByLabel(`New value for ${attr}`).fill('E2E value');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('alert').filter({ hasText: /Conflict: this golden record changed/ }).waitFor();
  await shot('conflict');
  await page.getByRole('button', { name: `Edit ${attr}`, exact: true }).click();
  await page.getByLabel(`New value for ${attr}`).fill('E2E value');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('table', { name: 'Attributes' }).getByText('E2E value').waitFor();
  await page.getByRole('button', { name: `Unlock ${attr}`, exact: true }).waitFor();
  check((await page.getByText('locked by alice').count()) === 1, 'the edited value shows its lock');
  await page.getByRole('button', { name: `Unlock ${attr}`, exact: true }).click();
  await page.getByRole('button', { name: `Unlock ${attr}`, exact: true }).waitFor({ state: 'detached' });
  check((await page.getByText('locked by alice').count()) === 0, 'unlocking removes the lock');

  step = 'relationships of a golden record';
  // The Rust test staged ERP E2EP1 > E2EP2 > E2EP3 (parent_of) and E2EC1, a contact of
  // E2EP2, by reference attributes; the reconcile above resolved them.
  await page.getByRole('link', { name: 'Golden records' }).click();
  await page.getByLabel('System').selectOption('ERP');
  await page.getByLabel('Source ID').fill('E2EP2');
  await page.getByRole('button', { name: 'Find' }).click();
  const rels = page.getByRole('table', { name: 'Relationships' });
  await rels.waitFor();
  check((await rels.getByRole('row').count()) === 4, 'three relationships: a parent, a child, a contact');
  for (const [name, type, dir] of [['Arvenhof Holding AG', 'parent_of', '← from'], ['Cordalis Service KG', 'parent_of', 'to →'], ['Ilse Marquardt', 'contact_of', '← from']]) {
    const row = rels.getByRole('row').filter({ hasText: name });
    await row.waitFor();
    check((await row.getByText(type, { exact: true }).count()) === 1 && (await row.getByText(dir, { exact: true }).count()) === 1, `${name}: ${type} ${dir}`);
  }
  check((await rels.getByRole('row').filter({ hasText: 'Ilse Marquardt' }).getByText(/ERP E2EC1→E2EP2 \(attribute\)/).count()) === 1, 'the source link is named');
  check((await page.getByRole('link', { name: 'Hierarchy of contact_of' }).count()) === 0, 'contact_of is no hierarchy');
  await shot('relationships');

  step = 'hierarchy up and down';
  await page.getByRole('link', { name: 'Hierarchy of parent_of' }).click();
  await page.getByRole('heading', { name: 'Hierarchy · parent_of' }).waitFor();
  const parents = page.getByRole('list', { name: 'Parents' });
  await parents.getByText('Arvenhof Holding AG').waitFor();
  const subtree = page.getByRole('table', { name: 'Subtree' });
  await subtree.getByRole('row').filter({ hasText: 'Cordalis Service KG' }).waitFor();
  check((await subtree.getByRole('row').count()) === 2, 'one record below E2EP2');
  await shot('hierarchy');
  await parents.getByRole('link', { name: /^Walk from / }).click();
  await page.getByText('None: this record is at the top.').waitFor();
  await subtree.getByRole('row').filter({ hasText: 'Cordalis Service KG' }).filter({ hasText: 'Brisanto Werke GmbH' }).waitFor();
  const levels = await subtree.locator('tbody td.num').allTextContents();
  check(JSON.stringify(levels) === '["1","2"]', `the subtree of the top, level by level: ${JSON.stringify(levels)}`);
  await shot('hierarchy-top');

  step = 'audit log';
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByLabel('Action').selectOption('decision.must_link');
  await page.getByRole('button', { name: 'Search' }).click();
  const entry = page.getByRole('table', { name: 'Audit entries' }).getByRole('row').filter({ hasText: 'decision.must_link' }).filter({ hasText: 'same person (e2e)' });
  await entry.first().waitFor();
  check((await entry.count()) === 1, 'one audit entry for the decision');
  check((await entry.getByText('alice', { exact: true }).count()) === 1, 'the audit entry names alice');
  const changed = await entry.locator('td.change').textContent();
  check(changed.includes('kind: must_link') && !changed.includes('{"'), `the change column is readable, not JSON: ${changed}`);
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export CSV' }).click();
  const file = await download;
  check(file.suggestedFilename() === 'mdm-audit.csv', `export file name ${file.suggestedFilename()}`);
  await shot('audit');

  step = 'dashboard';
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await page.getByRole('img', { name: /Review backlog of customer/ }).waitFor();
  check((await page.getByRole('img', { name: /Duplicate rate per source system/ }).count()) >= 1, 'the dashboard charts the duplicate rate');
  check((await page.getByRole('table', { name: /Last runs of customer/ }).getByRole('row').count()) >= 3, 'the dashboard lists both runs');
  await shot('dashboard');

  step = 'data quality, from the dashboard';
  await page.getByRole('link', { name: /^Data quality of customer/ }).click();
  await page.getByRole('heading', { name: /Data quality/ }).waitFor();
  const quarantined = page.getByRole('table', { name: 'Quarantined rows', exact: true });
  await quarantined.waitFor();
  const bad = quarantined.getByRole('row').filter({ hasText: badDetail });
  check((await bad.count()) === 1, `one row says "${badDetail}"`);
  check((await bad.getByText('invalid_value', { exact: true }).count()) === 1, 'the row shows its reason');
  check((await bad.getByText('birth_date', { exact: true }).count()) === 1, 'the row shows its field');
  check((await bad.locator('code.raw').textContent()).includes(badRaw), 'the row shows its raw text, markup as text');
  check((await quarantined.locator('b, img, script').count()) === 0, 'raw text never becomes markup');
  const perReason = page.getByRole('table', { name: 'Quarantined rows per system and reason' });
  check((await perReason.getByRole('row').filter({ hasText: 'invalid_value' }).count()) >= 1, 'the counts per reason are shown');
  const unpublished = page.getByRole('table', { name: 'Values no golden record will publish' });
  await unpublished.waitFor();
  const filler = unpublished.getByRole('row').filter({ hasText: 'E2E2' });
  check((await filler.getByText('placeholder e-mail address', { exact: true }).count()) === 1, 'a staged placeholder e-mail is listed with its reason');
  await shot('quality');

  step = 'data quality: values the sources disagree on';
  // ERP's E2E3 and CRM's E2E4 are one customer with two phones; the conflict is on some
  // page of the list, by golden ID.
  const disagree = page.getByRole('table', { name: 'Values the sources disagree on' });
  await disagree.waitFor();
  const conflict = () => disagree.getByRole('row').filter({ hasText: 'E2E3' }).filter({ hasText: 'E2E4' });
  for (let i = 0; (await conflict().count()) === 0; i += 1) {
    const next = page.getByRole('button', { name: 'Next conflicts →' });
    check(i < 100 && await next.isEnabled(), 'the phones of E2E3 and E2E4 are listed as a conflict');
    const before = await disagree.locator('tbody tr').first().textContent();
    await next.click();
    await page.waitForFunction((b) => {
      const row = document.querySelector('table[aria-label="Values the sources disagree on"] tbody tr');
      return row && row.textContent !== b;
    }, before);
  }
  const phones = conflict();
  check((await phones.count()) === 1, 'one conflict row for the two records');
  check((await phones.getByRole('cell', { name: 'phone', exact: true }).count()) === 1, 'the conflict names the attribute');
  check((await phones.locator('ul.values li').count()) === 2, 'both phones are listed');
  check((await phones.getByText('published', { exact: true }).count()) === 1, 'the published phone is marked');
  check((await phones.getByText('+49305550123').count()) + (await phones.getByText('+49305550999').count()) === 2, 'each phone in its golden form');
  await phones.scrollIntoViewIfNeeded();
  await shot('quality-conflicts');

  step = 'sign out';
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Steward token').waitFor();
  check(await page.evaluate(() => sessionStorage.getItem('mdm.steward.token') === null), 'signing out forgets the token');

  step = 'checks over the whole session';
  const origin = new URL(base).origin;
  const foreign = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'));
  check(!foreign.length, `requests left the server: ${foreign.join(', ')}`);
  check(!requests.some((u) => u.includes(token)), 'the token appeared in a URL');
  check(!pageErrors.length, pageErrors.join('\n'));
} catch (e) {
  try { await shot('failure'); } catch (_) { /* the page may be gone */ }
  await browser.close();
  fail(`${step}: ${e.message}`);
}
await browser.close();
console.log(`E2E_RESULT ${JSON.stringify({ kind: 'must_link', ...pair })}`);
