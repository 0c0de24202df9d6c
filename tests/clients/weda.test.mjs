// The WeDa page method runs verbatim (imported as an ES module) against the demo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startDemo, fakeWx } from './harness.mjs';

let demo;
before(async () => { demo = await startDemo(); });
after(async () => { await demo?.stop(); });

async function loadMethod(openid, log) {
  globalThis.wx = fakeWx(demo, openid, log);
  const src = readFileSync(join(ROOT, 'examples/weda/payMethod.js'), 'utf8')
    .replace("const ENV_ID = 'your-env-id'", "const ENV_ID = 'test-env'");
  const mod = await import('data:text/javascript;base64,' + Buffer.from(src + `\n// ${Math.random()}`).toString('base64'));
  return mod.default;
}

test('WeDa method: order, pay, confirming query', async () => {
  const log = { calls: [], payments: [], transfers: [], toasts: [], modals: [] };
  const method = await loadMethod('oTestWeda0000000000000000001', log);
  const out = await method({ event: {}, data: { total: 30 } });
  assert.equal(out.trade_state, 'SUCCESS', JSON.stringify(out));
  assert.ok(log.payments[0].ok, 'paySign verifies');
  assert.equal(log.calls[0].path, '/wx-pay/wxpay_order');
  assert.equal(log.calls[0].config.env, 'test-env');
  assert.equal(log.toasts.at(-1).title, 'Paid');
});

test('WeDa method: a refusal is shown with its msg', async () => {
  const log = { calls: [], payments: [], transfers: [], toasts: [], modals: [] };
  const method = await loadMethod('oTestWeda0000000000000000002', log);
  const out = await method({ event: {}, data: { total: -5 } });
  assert.ok(out.error, JSON.stringify(out));
  assert.ok(out.msg.length > 0);
  assert.equal(log.toasts.at(-1).title, out.msg);
  assert.equal(log.payments.length, 0);
});
