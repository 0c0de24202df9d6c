// The Mini Program examples run verbatim against the real service (pay-common demo).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, startDemo, loadMiniProgram, pressUntil } from './harness.mjs';

let demo;
before(async () => { demo = await startDemo(); });
after(async () => { await demo?.stop(); });

for (const [name, dir] of [
  ['callHTTPFunction', 'examples/miniprogram'],
  ['callContainer', 'examples/miniprogram-cloudrun'],
]) {
  test(`${name}: order, pay, query, ledger view, refund`, async () => {
    const openid = name === 'callHTTPFunction' ? 'oTestUser0000000000000000001' : 'oTestUser0000000000000000002';
    const { page, log, wx } = loadMiniProgram(demo, join(ROOT, dir), { openid });
    assert.equal(wx.cloud.inited.env, 'test-env');
    await page.onOrder();
    assert.equal(page.data.error, '', 'no refusal');
    assert.equal(log.payments.length, 1);
    assert.ok(log.payments[0].ok, 'paySign verifies with the merchant public key');
    assert.equal(page.data.tradeState, 'SUCCESS', 'the follow-up query shows SUCCESS');
    if (name === 'callContainer') {
      const call = log.calls[0];
      assert.equal(call.header['X-WX-SERVICE'], undefined, 'the harness strips it after checking');
      assert.equal(call.config.env, 'test-env');
    }
    await pressUntil(page, 'onView', (d) => d.ledgerState === 'PAID');
    assert.match(page.data.message, /PAID/);
    await page.onRefund();
    assert.equal(page.data.error, '');
    assert.ok(['PROCESSING', 'SUCCESS'].includes(page.data.refundStatus), page.data.refundStatus);
    const r = await fetch(`${demo.sim}/sim/refunds/${page.data.outRefundNo}/complete`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"status":"SUCCESS"}',
    });
    assert.equal(r.status, 200);
    await pressUntil(page, 'onView', (d) => d.ledgerState === 'REFUNDED');
    // A second refund of the same order is refused, and the page shows the refusal's msg.
    await page.onRefund();
    assert.notEqual(page.data.error, '');
    assert.match(page.data.error, /^Refund: .+\(\w+\)$/);
  });
}

// Payouts: the demo grants its user (oDemoUser…1) 100 fen; the cloud-hosting page's user gets a
// grant from the admin first, as a business backend would. Claim → confirm → query.
for (const [name, dir, openid] of [
  ['callHTTPFunction', 'examples/miniprogram', 'oDemoUser0000000000000000001'],
  ['callContainer', 'examples/miniprogram-cloudrun', 'oTestUser0000000000000000008'],
]) {
  test(`${name}: claim my payout, confirm it, query the transfer`, async () => {
    const { adminCall } = await import('./harness.mjs');
    if (name === 'callContainer') {
      const a = await adminCall(demo, '/wx-pay/admin/payout_grant', { openid, amount: 30, grant_no: 'harness-cloudrun' });
      assert.equal(a.remaining, 30);
    }
    const { page, log } = loadMiniProgram(demo, join(ROOT, dir), { openid });
    await page.onClaim();
    assert.equal(page.data.error, '', 'the claim is accepted');
    assert.equal(log.transfers.length, 1);
    assert.ok(log.transfers[0].ok, 'mchId, appId and package_info reach wx.requestMerchantTransfer');
    assert.match(page.data.allowanceId, /^pa_/);
    assert.match(page.data.message, /confirmed; 0 left$/);
    const claimCall = log.calls.find((c) => c.path === '/wx-pay/wxpay_transfer');
    assert.equal(JSON.stringify(claimCall.data), '{}', 'the page sends no payee: the identity is the payee');
    await pressUntil(page, 'onTransferQuery', (d) => d.transferState === 'SUCCESS');
    // Everything was claimed: pressing again shows the refusal's msg and code.
    await page.onClaim();
    assert.match(page.data.error, /^Claim: .+\(NO_ALLOWANCE\)$/, page.data.error);
    assert.equal(log.transfers.length, 1, 'no second confirmation');
  });
}

test('callHTTPFunction: cancelled payment, then close the unpaid order', async () => {
  const { page, log } = loadMiniProgram(demo, join(ROOT, 'examples/miniprogram'), { openid: 'oTestUser0000000000000000003' });
  log.cancelPayment = true;
  await page.onOrder();
  assert.equal(page.data.error, 'Payment cancelled');
  await page.onQuery();
  assert.equal(page.data.tradeState, 'NOTPAY');
  await page.onClose();
  assert.equal(page.data.error, '');
  assert.match(page.data.message, /closed/);
  await page.onView();
  assert.equal(page.data.ledgerState, 'CLOSED');
});

test('callHTTPFunction: buttons before an order explain, another user cannot see my order', async () => {
  const { page } = loadMiniProgram(demo, join(ROOT, 'examples/miniprogram'), { openid: 'oTestUser0000000000000000004' });
  await page.onQuery();
  assert.equal(page.data.error, 'Query: place an order first');
  const mine = loadMiniProgram(demo, join(ROOT, 'examples/miniprogram'), { openid: 'oTestUser0000000000000000005' });
  mine.log.cancelPayment = true;
  await mine.page.onOrder();
  page.setData({ outTradeNo: mine.page.data.outTradeNo });
  await page.onView();
  assert.equal(page.data.ledgerState, '');
  assert.match(page.data.error, /^View: .+\(\w+\)$/, page.data.error);
});

test('callHTTPFunction: app.js warns when ENV_ID is left unchanged', async () => {
  const { log, wx } = loadMiniProgram(demo, join(ROOT, 'examples/miniprogram'), { openid: 'oTestUser0000000000000000006', envId: 'your-env-id' });
  assert.equal(log.modals.length, 1);
  assert.equal(wx.cloud.inited, null);
});

test('console: lists the ledger behind the admin credential, events get delivered', async () => {
  const { postJson, adminCall } = await import('./harness.mjs');
  const anon = await postJson(demo.service + '/console/api/state', {});
  assert.equal(anon.status, 403);
  assert.equal(anon.data.error, 'ADMIN_REQUIRED');
  const page = await fetch(demo.service + '/console/');
  assert.equal(page.status, 200);
  assert.match(await page.text(), /pay-common console/);
  const { page: mp } = loadMiniProgram(demo, join(ROOT, 'examples/miniprogram'), { openid: 'oTestUser0000000000000000007' });
  await mp.onOrder();
  await pressUntil(mp, 'onView', (d) => d.ledgerState === 'PAID');
  let state;
  for (let i = 0; i < 100; i++) {
    state = await adminCall(demo, '/console/api/state', {});
    const paid = state.events.filter((e) => JSON.stringify(e).includes(mp.data.outTradeNo));
    if (paid.length && paid.every((e) => e.delivered_at)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const row = state.orders.find((o) => o.out_trade_no === mp.data.outTradeNo);
  assert.equal(row.state, 'PAID');
  assert.equal(row.owner, 'oTestUser0000000000000000007');
  const mine = state.events.filter((e) => JSON.stringify(e).includes(mp.data.outTradeNo));
  assert.ok(mine.length > 0, 'the order wrote events');
  assert.ok(mine.every((e) => e.delivered_at), 'the demo webhook took every event: ' + JSON.stringify(mine));
  const bad = await postJson(demo.service + '/console/api/sim/faults/x/arm', {}, { 'x-pay-common-admin-token': demo.admin });
  assert.equal(bad.status, 400);
  const pressed = await postJson(demo.service + '/console/api/sim/orders/NOSUCHORDER1/pay', {}, { 'x-pay-common-admin-token': demo.admin });
  assert.equal(pressed.status, 404);
});
