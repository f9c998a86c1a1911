// SPDX-License-Identifier: MIT
// The HTML report in a real browser: headless Chromium (Debian's `chromium`) loads the file
// written by `agentrace-eval report`, driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: no port, no npm packages). Checks that the DOM shows the same
// counts and percentiles as `stats --json`, that clicking a span shows its attributes, that
// nothing was fetched from the network and that no console error or exception happened; saves
// a screenshot.
//
// usage: node report_browser_test.mjs AGENTRACE_EVAL SOURCE_DIR WORK_DIR
// Exit 0 pass, 1 fail, 77 skip (chromium missing, allowed outside CI only).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const [cli, srcDir, workDir] = process.argv.slice(2);
if (!cli || !srcDir || !workDir) {
  console.error('usage: report_browser_test.mjs AGENTRACE_EVAL SOURCE_DIR WORK_DIR');
  process.exit(2);
}

let failures = 0;
function check(ok, what) {
  if (ok) {
    console.log('ok   ' + what);
  } else {
    console.log('FAIL ' + what);
    failures++;
  }
}

function findChromium() {
  for (const p of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (p && fs.existsSync(p)) return p;
  }
  return null;
}

const chromium = findChromium();
if (!chromium) {
  const msg = 'chromium is not installed (apt-get install chromium; scripts/install-deps.sh does)';
  if (process.env.CI === 'true') {
    console.error('FAIL ' + msg);
    process.exit(1);
  }
  console.error('SKIP ' + msg);
  process.exit(77);
}

fs.rmSync(workDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
fs.mkdirSync(workDir, { recursive: true });
const traces = path.join(workDir, 'agent.jsonl');
const prices = path.join(workDir, 'prices.json');
const report = path.join(workDir, 'report.html');
const screenshot = path.join(workDir, 'report.png');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) {
    console.error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stderr}`);
    process.exit(1);
  }
  return r;
}

// Input: synthetic agent runs, and a price table that leaves one model unpriced.
fs.writeFileSync(
  traces,
  run('python3', [path.join(srcDir, 'scripts/gen-agent-traces.py'), '--spans', '1500', '--seed', '7']).stdout,
);
fs.writeFileSync(prices, JSON.stringify({
  unit: 'per_million',
  models: {
    'gpt-4o': { input: 2.5, output: 10, cache_read: 1.25 },
    'gpt-4o-mini': { input: 0.15, output: 0.6, cache_read: 0.075 },
    'o3-mini': { input: 1.1, output: 4.4, cache_read: 0.55 },
  },
}));
const stats = JSON.parse(run(cli, ['stats', '--json', '--prices', prices, traces]).stdout);
// Relative input name: the page shows the inputs as given.
run(cli, ['report', '--prices', prices, '--title', 'sql-agent: nightly run', 'agent.jsonl', '-o', report], { cwd: workDir });
const html = fs.readFileSync(report, 'utf8');
check(!/<(script|link|img|iframe)[^>]+(src|href)\s*=/i.test(html), 'the report references no external file');
check(!/@import|url\(\s*['"]?https?:/i.test(html), 'the styles load nothing');

// ------------------------------------------------------------ DevTools over a pipe
const profile = fs.mkdtempSync(path.join(workDir, 'profile-'));
const browser = spawn(chromium, [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--no-first-run', '--mute-audio',
  '--hide-scrollbars', '--remote-debugging-pipe', `--user-data-dir=${profile}`, 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
let browserStderr = '';
browser.stderr.on('data', (d) => { browserStderr += d; });
const toBrowser = browser.stdio[3];
const fromBrowser = browser.stdio[4];

let nextId = 1;
const pending = new Map();
const listeners = [];
let inbox = Buffer.alloc(0);
fromBrowser.on('data', (chunk) => {
  inbox = Buffer.concat([inbox, chunk]);
  let nul;
  while ((nul = inbox.indexOf(0)) >= 0) {
    const msg = JSON.parse(inbox.subarray(0, nul).toString('utf8'));
    inbox = inbox.subarray(nul + 1);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject, method } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
      else resolve(msg.result);
    } else if (msg.method) {
      for (const l of listeners) l(msg);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  toBrowser.write(JSON.stringify(msg) + '\0');
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject, method }));
}
function waitFor(method, timeoutMs) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${method} within ${timeoutMs} ms`)), timeoutMs);
    listeners.push((m) => {
      if (m.method === method) {
        clearTimeout(t);
        resolve(m.params);
      }
    });
  });
}

const consoleErrors = [];
const requests = [];
listeners.push((m) => {
  if (m.method === 'Runtime.exceptionThrown') consoleErrors.push(m.params.exceptionDetails.text + ' ' +
    JSON.stringify(m.params.exceptionDetails.exception?.description ?? ''));
  if (m.method === 'Runtime.consoleAPICalled' && (m.params.type === 'error' || m.params.type === 'warning'))
    consoleErrors.push(m.params.args.map((a) => a.value ?? a.description).join(' '));
  if (m.method === 'Log.entryAdded' && m.params.entry.level === 'error') consoleErrors.push(m.params.entry.text);
  if (m.method === 'Network.requestWillBeSent') requests.push(m.params.request.url);
});

const killer = setTimeout(() => {
  console.error('FAIL the browser test took longer than 60 s\n' + browserStderr);
  browser.kill('SIGKILL');
  process.exit(1);
}, 60000);

try {
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const cmd = (method, params) => send(method, params, sessionId);
  await cmd('Runtime.enable');
  await cmd('Log.enable');
  await cmd('Page.enable');
  await cmd('Network.enable');
  await cmd('Emulation.setDeviceMetricsOverride', { width: 1280, height: 860, deviceScaleFactor: 1, mobile: false });
  const loaded = waitFor('Page.loadEventFired', 20000);
  await cmd('Page.navigate', { url: 'file://' + path.resolve(report) });
  await loaded;
  const evaluate = async (expr) => {
    const r = await cmd('Runtime.evaluate', { expression: expr, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error('evaluate: ' + r.exceptionDetails.text);
    return r.result.value;
  };

  const dom = await evaluate(`(() => {
    const num = (id) => +document.getElementById(id).textContent;
    const rows = [...document.querySelectorAll('#names tr[data-name]')].map((tr) => ({
      name: tr.dataset.name,
      count: +tr.querySelector('.count').textContent,
      errors: +tr.querySelector('.errors').textContent,
      error_rate: +tr.querySelector('.error_rate').dataset.value,
      p50: +tr.querySelector('.p50').textContent, p95: +tr.querySelector('.p95').textContent,
      p99: +tr.querySelector('.p99').textContent, max: +tr.querySelector('.max').textContent }));
    const models = [...document.querySelectorAll('#models tr[data-model]')].map((tr) => ({
      model: tr.dataset.model, input: +tr.querySelector('.input').textContent,
      output: +tr.querySelector('.output').textContent, cost: tr.querySelector('.cost').textContent }));
    return { ready: document.body.dataset.ready, spans: num('sum-spans'), traces: num('sum-traces'),
      errors: num('sum-errors'), rows, models,
      hist: [...document.querySelectorAll('figure[data-name]')].map((f) => ({
        name: f.dataset.name, p95: +f.querySelector('svg').dataset.p95Ms,
        bars: f.querySelectorAll('rect').length, marker: !!f.querySelector('line.p95') })),
      traceIds: [...document.querySelectorAll('section.trace')].map((s) => s.dataset.traceId),
      errorRows: document.querySelectorAll('section.trace .row.err').length,
      reasons: document.querySelectorAll('section.trace .reason').length,
      unpriced: document.getElementById('unpriced')?.textContent ?? '' };
  })()`);

  check(dom.ready === '1', 'the report script ran');
  check(dom.spans === stats.spans && dom.traces === stats.traces && dom.errors === stats.errors,
    `summary spans/traces/errors ${dom.spans}/${dom.traces}/${dom.errors} = stats ${stats.spans}/${stats.traces}/${stats.errors}`);
  check(dom.rows.length === stats.names.length, `${dom.rows.length} name rows = ${stats.names.length} in stats`);
  let same = true;
  for (const n of stats.names) {
    const r = dom.rows.find((x) => x.name === n.name);
    if (!r || r.count !== n.count || r.errors !== n.errors || Math.abs(r.error_rate - n.error_rate) > 1e-12 ||
        r.p50 !== n.p50_ms || r.p95 !== n.p95_ms || r.p99 !== n.p99_ms || r.max !== n.max_ms) {
      same = false;
      console.log('  differs: ' + JSON.stringify({ stats: n, dom: r }));
    }
  }
  check(same, 'every name row: count, errors, error rate, p50/p95/p99/max equal stats --json');
  check(dom.hist.length === stats.names.length && dom.hist.every((h) => h.marker && h.bars > 0 &&
    h.p95 === stats.names.find((n) => n.name === h.name).p95_ms), 'a histogram per name with its p95 marked');
  let modelsOk = dom.models.length === stats.models.length;
  for (const m of stats.models) {
    const d = dom.models.find((x) => x.model === m.model);
    if (!d || d.input !== m.input_tokens || d.output !== m.output_tokens ||
        (m.priced ? !d.cost.startsWith('$') : d.cost !== 'unpriced')) modelsOk = false;
  }
  check(modelsOk, 'tokens and cost per model as in stats --json');
  check(stats.unpriced_models.length === 1 && dom.unpriced.includes(stats.unpriced_models[0]),
    `unpriced model listed: ${dom.unpriced}`);

  // The default selection: every errored trace, plus the slowest per name.
  const errored = run(cli, ['select', 'errors', traces]).stdout.trim().split('\n').map((l) => l.slice(0, 32));
  check(errored.length > 0 && errored.every((id) => dom.traceIds.includes(id)),
    `all ${errored.length} errored traces drawn (${dom.traceIds.length} traces in all)`);
  check(dom.errorRows >= errored.length, 'errored spans are marked');
  check(dom.reasons >= dom.traceIds.length, 'every drawn trace says why it was selected');

  // Click the failed db.query span of the first errored trace, as a user would.
  const target = await evaluate(`(() => {
    const sec = document.querySelector('section.trace[data-trace-id="${errored[0]}"]');
    const row = [...sec.querySelectorAll('.row.err')].find((r) => r.textContent.includes('db.query'));
    row.scrollIntoView({ block: 'center' });
    const b = row.querySelector('.lbl').getBoundingClientRect();
    return { x: b.left + 40, y: b.top + b.height / 2, span: row.dataset.spanId };
  })()`);
  for (const type of ['mousePressed', 'mouseReleased'])
    await cmd('Input.dispatchMouseEvent', { type, x: target.x, y: target.y, button: 'left', clickCount: 1 });
  const detail = await evaluate(`(() => {
    const d = document.querySelector('section.trace[data-trace-id="${errored[0]}"] .detail');
    return { open: d.classList.contains('open'), text: d.textContent,
      keys: [...d.querySelectorAll('td.k')].map((t) => t.textContent) };
  })()`);
  check(detail.open, 'clicking a span opens its detail');
  check(detail.text.includes(target.span) && detail.keys.includes('db.query.text') &&
    detail.text.includes('SELECT customer') && detail.keys.includes('error.type'),
  'the detail shows the span id and its attributes');
  check(detail.text.includes('status: error') && detail.text.includes('no such column: total') &&
    detail.text.includes('exception'), 'the detail shows the status and the exception event');

  // Two screenshots: the top (summary, histograms, cost) and the clicked trace with its detail.
  const top = await cmd('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true,
    clip: { x: 0, y: 0, width: 1280, height: await evaluate(
      "document.querySelector('h2:nth-of-type(3)').getBoundingClientRect().top + window.scrollY - 8"), scale: 1 } });
  fs.writeFileSync(screenshot, Buffer.from(top.data, 'base64'));
  const box = await evaluate(`(() => {
    const r = document.querySelector('section.trace[data-trace-id="${errored[0]}"]').getBoundingClientRect();
    return { y: r.top + window.scrollY - 6, h: Math.min(r.height + 12, 1400) };
  })()`);
  const wf = await cmd('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true,
    clip: { x: 0, y: box.y, width: 1280, height: box.h, scale: 1 } });
  const waterfallShot = screenshot.replace(/\.png$/, '-waterfall.png');
  fs.writeFileSync(waterfallShot, Buffer.from(wf.data, 'base64'));
  check(fs.statSync(screenshot).size > 10000 && fs.statSync(waterfallShot).size > 10000,
    `screenshots saved: ${screenshot}, ${waterfallShot}`);

  const external = requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:') && u !== 'about:blank');
  check(external.length === 0, `no network request (${external.join(' ') || 'none'})`);
  check(consoleErrors.length === 0, `no console errors or exceptions (${consoleErrors.join('; ') || 'none'})`);
  await send('Browser.close').catch(() => {});
} catch (e) {
  console.log('FAIL ' + e.message + '\n' + browserStderr.slice(-2000));
  failures++;
}
clearTimeout(killer);
// Let the browser (and its helper processes) exit before its profile is removed.
const exited = new Promise((resolve) => {
  if (browser.exitCode !== null || browser.signalCode !== null) resolve();
  else browser.once('exit', resolve);
});
await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
browser.kill('SIGKILL');
try {
  fs.rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
} catch (e) {
  console.log(`note: the browser profile ${profile} was not removed (${e.code})`);
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
