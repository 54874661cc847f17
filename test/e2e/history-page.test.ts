// The history page in a real browser (Debian's Chromium through playwright-core) against a real
// `zonelog serve` that took TSIG-signed updates from two keys: it lists the changes, a key filter
// narrows them to that key's, a row opens its exact diff, and the rate chart has bars.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Class, Rcode } from '../../shared/dns/constants.ts';
import { startZonelog, type ServerHandle } from '../support/server.ts';
import { record, sendUpdate, tsigKey, type KeySpec, type UpdateRequest } from '../support/updates.ts';

const CHROMIUM = '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps trying to reach the network, which is
// closed here, and every page becomes slow.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT_MS = 15_000;

const ZONE = 'page.test.';
const ALPHA: KeySpec = { name: 'page-alpha', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 11).toString('base64') };
const BRAVO: KeySpec = { name: 'page-bravo', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 23).toString('base64') };
const ZONE_TEXT = `$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 300\n  NS ns1\nns1 A 192.0.2.1\n`;

/** A record to delete (RFC 2136 §2.5.4: class NONE, TTL 0), from the line that added it. */
function deletion(line: string): ReturnType<typeof record> {
  return { ...record(line), class: Class.NONE, ttl: 0 };
}

const ADDS = {
  a1: `a1.${ZONE} 300 IN A 198.51.100.1`,
  a2: `a2.${ZONE} 300 IN A 198.51.100.2`,
  a3: `a3.${ZONE} 300 IN TXT "alpha three"`,
  b1: `b1.${ZONE} 600 IN A 203.0.113.1`,
  b2: `b2.${ZONE} 600 IN AAAA 2001:db8::b2`,
};
/** Sent in this order, one after another; the last removes one record and adds another. */
const UPDATES: { key: KeySpec; req: UpdateRequest }[] = [
  { key: ALPHA, req: { zone: ZONE, update: [record(ADDS.a1)] } },
  { key: BRAVO, req: { zone: ZONE, update: [record(ADDS.b1)] } },
  { key: ALPHA, req: { zone: ZONE, update: [record(ADDS.a2)] } },
  { key: ALPHA, req: { zone: ZONE, update: [record(ADDS.a3)] } },
  { key: BRAVO, req: { zone: ZONE, update: [deletion(ADDS.a1), record(ADDS.b2)] } },
];

interface ChangeSummary {
  version: number;
  serialFrom: number | null;
  serialTo: number;
  actor: { key?: string };
}

async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the history page test needs Chromium at ${CHROMIUM} and it is not there: apt-get install chromium (.ci/run installs it); this suite never skips`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

const FIRST_ROWS_PROBE = `new MutationObserver((_, obs) => {
  if (window.firstRowsAt === undefined && document.querySelector('[data-testid="change-row"]')) {
    window.firstRowsAt = performance.now();
    obs.disconnect();
  }
}).observe(document, { childList: true, subtree: true });`;

const status = (page: Page) => page.locator('[data-testid="status"]');
const rowCount = (page: Page): Promise<number> => page.locator('[data-testid="change-row"]').count();

describe('the history page in Chromium', () => {
  let server: ServerHandle;
  let browser: Browser;
  let page: Page;
  let base: string;
  const pageErrors: string[] = [];

  before(async () => {
    server = await startZonelog({
      zones: [{ name: ZONE, file: ZONE_TEXT, allowUpdate: [{ key: ALPHA.name }, { key: BRAVO.name }] }],
      keys: [ALPHA, BRAVO],
    });
    base = `http://127.0.0.1:${server.httpPort}`;
    for (const [i, u] of UPDATES.entries()) {
      const r = await sendUpdate(server.port, u.req, { key: tsigKey(u.key) });
      assert.equal(r.rcode, Rcode.NOERROR, `update ${i} with ${u.key.name}: ${JSON.stringify(r)}`);
      assert.ok(r.signed, `update ${i}: the answer is signed with ${u.key.name}`);
    }
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(WAIT_MS);
    page.on('pageerror', (e) => pageErrors.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });
    // When the first change row reaches the document, in ms since navigation start. Code that
    // runs in the page is given as text: the project's type check knows no DOM.
    await page.addInitScript(FIRST_ROWS_PROBE);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const api = async <T>(path: string): Promise<T> => {
    const r = await fetch(base + path);
    assert.equal(r.status, 200, `${path}: ${await r.clone().text()}`);
    return (await r.json()) as T;
  };

  it('loads and lists the zone\'s changes, newest first, with a rate chart', async (t) => {
    const { changes } = await api<{ changes: ChangeSummary[] }>(`/api/v1/changes?zone=${ZONE}&limit=50`);
    assert.equal(changes.length, UPDATES.length + 1, 'the creation and every update');
    await page.goto(`${base}/history`);
    // The status line is written right after the rows. (Waits use locators: the page's CSP forbids the eval
    // that waitForFunction would need.)
    await status(page).filter({ hasText: /page 1/ }).waitFor();
    const firstRowsAt = await page.evaluate<number | undefined>('window.firstRowsAt');
    t.diagnostic(`first load: ${changes.length} changes rendered ${firstRowsAt?.toFixed(0)} ms after navigation start`);
    assert.equal(await rowCount(page), changes.length);
    const versions = (await Promise.all((await page.locator('[data-testid="change-row"]').all()).map((r) => r.getAttribute('data-version')))).map(Number);
    assert.deepEqual(versions, changes.map((c) => c.version));
    assert.equal(await page.locator('#zone').inputValue(), ZONE);
    await page.locator('svg[data-testid="chart"] rect').first().waitFor();
    assert.ok(await page.locator('svg[data-testid="chart"] rect').count() >= 1, 'the chart has a bar');
    assert.doesNotMatch(await page.getAttribute('[data-testid="status"]', 'class') ?? '', /error/);
    assert.deepEqual(pageErrors, []);
  });

  it('filtering by one key lists exactly that key\'s changes, and the link reproduces the filter', async () => {
    const sent = UPDATES.filter((u) => u.key === BRAVO).length;
    await page.fill('[data-testid="filter-key"]', BRAVO.name);
    await page.click('[data-testid="apply"]');
    await status(page).filter({ hasText: /filtered/ }).waitFor();
    const check = async (): Promise<void> => {
      assert.equal(await rowCount(page), sent);
      const actors = await page.locator('[data-testid="change-row"] [data-testid="actor"]').allTextContents();
      assert.equal(actors.length, sent);
      for (const a of actors) assert.match(a, new RegExp(`\\bkey ${BRAVO.name}\\.`), `actor "${a}"`);
    };
    await check();
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('key'), BRAVO.name);
    assert.equal(url.searchParams.get('zone'), ZONE);
    await page.goto(url.href);
    await status(page).filter({ hasText: /filtered/ }).waitFor();
    assert.equal(await page.inputValue('[data-testid="filter-key"]'), BRAVO.name);
    await check();
    assert.deepEqual(pageErrors, []);
  });

  it('clicking a change shows the records it removed and added, and the SOA from and to', async () => {
    const { changes } = await api<{ changes: ChangeSummary[] }>(`/api/v1/changes?zone=${ZONE}&key=${BRAVO.name}&limit=50`);
    const last = changes[0];
    assert.equal(last.version, UPDATES.length + 1, 'the last update is the newest change');
    await page.click(`[data-testid="change-row"][data-version="${last.version}"]`);
    const diff = page.locator('[data-testid="diff"]');
    await diff.locator('pre').waitFor();
    const lines = await diff.locator('pre > span').allTextContents();
    assert.match(lines[0], new RegExp(`^-${ZONE.replace(/\./g, '\\.')} 300 IN SOA .* ${last.serialFrom} 3600 900 1209600 300$`));
    assert.match(lines[1], new RegExp(`^\\+${ZONE.replace(/\./g, '\\.')} 300 IN SOA .* ${last.serialTo} 3600 900 1209600 300$`));
    assert.deepEqual(lines.slice(2), [`-${ADDS.a1}`, `+${ADDS.b2}`]);
    assert.equal(await page.locator(`[data-testid="change-row"][data-version="${last.version}"]`).getAttribute('aria-selected'), 'true');
    assert.deepEqual(pageErrors, []);
  });
});
