// The console in a real browser: the loop (order → pay → PAID → refund → REFUNDED) runs over HTTP,
// then headless Chromium renders /console/ and the DOM it built must show the states and the
// delivered events. Screenshot: target/screenshots/console.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startDemo, loadMiniProgram, pressUntil, adminCall, postJson } from './harness.mjs';

const CHROMIUM = ['chromium', 'chromium-browser'].find((c) => spawnSync(c, ['--version']).status === 0);
let demo;
before(async () => { demo = await startDemo(); });
after(async () => { await demo?.stop(); });

function render(url, screenshot) {
  const profile = mkdtempSync(join(tmpdir(), 'pay-common-chromium-'));
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--user-data-dir=' + profile,
    '--window-size=1400,1800', '--virtual-time-budget=5000'];
  execFileSync(CHROMIUM, [...args, '--screenshot=' + screenshot, url], { timeout: 60_000, stdio: 'ignore' });
  return execFileSync(CHROMIUM, [...args, '--dump-dom', url], { timeout: 60_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

test('console renders the loop in headless Chromium', { skip: CHROMIUM ? false : 'SKIPPED: chromium not found' }, async () => {
  const { page } = loadMiniProgram(demo, join(ROOT, 'examples/miniprogram'), { openid: 'oTestBrowser0000000000000001' });
  await page.onOrder();
  await pressUntil(page, 'onView', (d) => d.ledgerState === 'PAID');
  await page.onRefund();
  const done = await postJson(`${demo.sim}/sim/refunds/${page.data.outRefundNo}/complete`, { status: 'SUCCESS' });
  assert.equal(done.status, 200);
  await pressUntil(page, 'onView', (d) => d.ledgerState === 'REFUNDED');
  for (let i = 0; i < 100; i++) {
    const s = await adminCall(demo, '/console/api/state', {});
    if (s.events.length && s.events.every((e) => e.delivered_at)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const dir = join(ROOT, 'target', 'screenshots');
  mkdirSync(dir, { recursive: true });
  const dom = render(demo.consoleUrl, join(dir, 'console.png'));
  const rowOf = (key) => (dom.split('<tr').find((r) => r.includes(`data-key="${key}"`)) || '');
  assert.match(rowOf(page.data.outTradeNo), /REFUNDED/, 'the order row shows REFUNDED:\n' + dom.slice(0, 4000));
  assert.match(rowOf(page.data.outRefundNo), /SUCCESS/, 'the refund row shows SUCCESS');
  assert.match(dom, /delivered \d/, 'events show as delivered');
  assert.doesNotMatch(dom, /class="error"/, 'no refusal on the page');
  assert.match(dom, /Place an order as a Mini Program user/);
});
