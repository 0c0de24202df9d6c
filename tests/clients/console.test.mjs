// The console in a real browser, driven by clicks over WebDriver (headless chromium +
// chromedriver): sign in, place an order with the form acting as a Mini Program user, press the
// simulator's 📱 Pay, see PAID without a reload, refund, press 📱 Finish refund, see REFUNDED and
// the business events delivered. Then the payout allowances: with the payout-allowance API the
// grant form and the Revoke button are clicked; without it the section says "Payouts not
// available" and the page keeps working. The same clicks also run against the agreed API shape
// (COMMON.md) played in memory. Screenshots: target/screenshots/console-*.png.
import { test, before, after } from 'node:test';
import { createServer } from 'node:http';
import assert from 'node:assert/strict';
import { startDemo, postJson, adminCall } from './harness.mjs';
import { Browser, NO_BROWSER } from './webdriver.mjs';

const BUYER = 'oConsoleBuyer000000000000001';
const PAYEE = 'oConsolePayee000000000000001';
let demo;
let browser;
before(async () => {
  if (NO_BROWSER) return;
  demo = await startDemo();
  browser = await Browser.start();
});
after(async () => {
  await browser?.stop();
  await demo?.stop();
});

const message = () => browser.text('#message');

// The cells of one table row, by the row's key (the table's first column).
async function row(table, key) {
  return browser.execute(`const tr = document.querySelector('#' + arguments[0] + ' tr[data-key="' + arguments[1] + '"]');
    return tr ? Array.from(tr.cells, (td) => td.textContent) : null;`, [table, key]);
}

test('console: sign in, order, 📱 Pay, PAID, refund, 📱 Finish refund, REFUNDED, events delivered — all by clicks', { skip: NO_BROWSER }, async () => {
  // Without the fragment the page asks for the credential.
  await browser.go(demo.service + '/console/');
  await browser.waitFor(() => browser.displayed('#login'), (v) => v === true, 'the sign-in form');
  assert.equal(await browser.displayed('#place'), false, 'no order form before signing in');
  await browser.type('#token-input', demo.admin);
  await browser.click('#login button[type="submit"]');
  await browser.waitFor(() => browser.displayed('#place'), (v) => v === true, 'the demo order form after signing in');
  assert.equal(await browser.displayed('#mode'), true, 'the SIMULATED MONEY banner');
  await browser.execute('window.loadedOnce = "yes"'); // a reload would lose it

  await browser.type('#order-openid', BUYER);
  await browser.type('#order-description', 'Console tea');
  await browser.type('#order-amount', 30);
  await browser.select('#order-kind', 'wxpay_order');
  await browser.click('#order-submit');
  const placed = await browser.waitFor(message, (t) => /^Placed WEB\d+/.test(t) || /refused/.test(t), 'the order to be placed');
  const no = /^Placed (WEB\d+);/.exec(placed)?.[1];
  assert.ok(no, placed);
  const order = await browser.waitFor(() => row('orders', no), (r) => r?.[5] === 'NOTPAY', 'the order row NOTPAY');
  assert.deepEqual(order.slice(0, 4), [no, BUYER, 'JSAPI', '30'], 'out_trade_no, owner, type, amount');
  await browser.screenshot('console-1-placed.png');

  await browser.click(`#orders tr[data-key="${no}"] button[data-action="pay"]`);
  const paid = await browser.waitFor(() => row('orders', no), (r) => r?.[5] === 'PAID', 'the order row to turn PAID without a reload');
  assert.match(paid[6], /^\d+$/, 'the transaction_id from the callback');
  await browser.screenshot('console-2-paid.png');

  await browser.click(`#orders tr[data-key="${no}"] button[data-action="refund"]`);
  const refunded = await browser.waitFor(message, (t) => /^Refund \S+: PROCESSING$/.test(t) || /refused|Refund 30:/.test(t), 'the refund to be accepted');
  const refundNo = /^Refund (\S+): PROCESSING$/.exec(refunded)?.[1];
  assert.ok(refundNo, refunded);
  assert.deepEqual((await browser.waitFor(() => row('refunds', refundNo), (r) => r?.[3] === 'PROCESSING', 'the refund row PROCESSING')).slice(1, 4), [no, '30', 'PROCESSING']);
  await browser.click(`#refunds tr[data-key="${refundNo}"] button[data-action="complete"]`);
  await browser.waitFor(() => row('refunds', refundNo), (r) => r?.[3] === 'SUCCESS', 'the refund row to turn SUCCESS');
  const done = await browser.waitFor(() => row('orders', no), (r) => r?.[5] === 'REFUNDED', 'the order row to turn REFUNDED');
  assert.equal(done[4], '30', 'refunded amount');

  const events = await browser.waitFor(
    () => browser.execute(`return Array.from(document.querySelectorAll('#events tbody tr'), (tr) => [tr.cells[1].textContent, tr.cells[3].textContent]);`),
    (rows) => ['order.paid', 'refund.succeeded'].every((t) => rows.some(([type]) => type === t)) && rows.every(([, d]) => /^delivered /.test(d)),
    'order.paid and refund.succeeded delivered',
  );
  assert.ok(events.length >= 2);
  assert.equal(await browser.execute('return window.loadedOnce'), 'yes', 'the page was never reloaded');
  assert.doesNotMatch(await browser.execute('return document.getElementById("message").className'), /error/, 'no refusal shown');
  await browser.screenshot('console-3-refunded.png');

  // The ledger says what the page showed.
  const state = await adminCall(demo, '/console/api/state', {});
  assert.equal(state.orders.find((o) => o.out_trade_no === no).state, 'REFUNDED');
  assert.equal(state.refunds.find((r) => r.out_refund_no === refundNo).state, 'SUCCESS');
});

// Grants an allowance with the console's form and revokes it with its button, on the console
// served by `service`; every assertion follows the agreed payout-allowance API (COMMON.md).
async function grantAndRevokeByClicks(service, shots) {
  const expires = new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
  await browser.type('#grant-openid', PAYEE);
  await browser.type('#grant-amount', 150);
  await browser.type('#grant-remark', 'console test');
  await browser.type('#grant-expires', expires);
  await browser.click('#grant-submit');
  const granted = await browser.waitFor(message, (t) => /^Grant/.test(t), 'the grant answer');
  const id = /^Granted (pa_\S+): 150 fen to (\S+) \(ACTIVE\)$/.exec(granted);
  assert.ok(id, 'the grant answer is the allowance object of COMMON.md: ' + granted);
  assert.equal(id[2], PAYEE);
  const cells = await browser.waitFor(() => row('payouts', id[1]), (r) => r?.[5] === 'ACTIVE', 'the allowance row ACTIVE');
  assert.deepEqual(cells.slice(0, 7), [id[1], PAYEE, '150', '0', '150', 'ACTIVE', 'console test']);
  assert.equal(Date.parse(cells[7]), Date.parse(expires), 'expires_at is the instant entered');
  const listed = (await adminCall({ service, admin: demo.admin }, '/wx-pay/admin/payouts', { openid: PAYEE })).allowances;
  assert.ok(Array.isArray(listed), 'admin/payouts answers {allowances: [...]}');
  const a = listed.find((x) => x.allowance_id === id[1]);
  for (const field of ['allowance_id', 'openid', 'amount', 'claimed', 'remaining', 'state', 'transfer_scene_id', 'transfer_remark', 'expires_at', 'created_at', 'updated_at']) {
    assert.ok(a && field in a, `the allowance has ${field}: ${JSON.stringify(a)}`);
  }
  await browser.screenshot(`${shots}-granted.png`);

  await browser.click(`#payouts tr[data-key="${id[1]}"] button[data-action="revoke"]`);
  await browser.waitFor(message, (t) => t.startsWith('Revoked ' + id[1]), 'the revoke answer');
  const revoked = await browser.waitFor(() => row('payouts', id[1]), (r) => r?.[5] === 'REVOKED', 'the allowance row REVOKED');
  assert.equal(revoked[9], '', 'no Revoke button on a revoked allowance');
  await browser.screenshot(`${shots}-revoked.png`);
}

test('console: payout allowances on this server — grant and revoke by clicks, or "payouts not available" without the API', { skip: NO_BROWSER }, async () => {
  await browser.go('about:blank'); // a fresh load (from /console/ only the fragment would change)
  await browser.go(demo.consoleUrl); // the credential in the fragment this time
  await browser.waitFor(() => browser.text('#updated'), (t) => /^updated /.test(t), 'the first refresh');
  assert.doesNotMatch(await browser.execute('return location.href'), /token/, 'the fragment is taken off the address');
  const probe = await postJson(demo.service + '/wx-pay/admin/payouts', {}, { 'x-pay-common-admin-token': demo.admin });
  if (probe.status === 200) {
    assert.equal(probe.data.code, 0, JSON.stringify(probe.data));
    await grantAndRevokeByClicks(demo.service, 'console-4-payout');
    return;
  }
  // This build has no payout-allowance API: the section says so, the rest keeps working.
  assert.equal(probe.data.error, 'UNSUPPORTED_ACTION', JSON.stringify(probe.data));
  const note = await browser.waitFor(() => browser.text('#payouts-note'), (t) => /^Payouts not available/.test(t), 'the payouts note');
  assert.match(note, /UNSUPPORTED_ACTION/);
  assert.equal(await browser.displayed('#grant-form'), false, 'no grant form without the API');
  const shown = await browser.text('#updated');
  await browser.waitFor(() => browser.text('#updated'), (t) => t !== shown, 'the page to keep refreshing');
  await browser.screenshot('console-4-payouts-unavailable.png');
});

// The agreed payout-allowance API (COMMON.md) played in memory in front of the demo, so the
// console's grant form and Revoke button are exercised whatever this build's server has.
async function agreedPayoutApi() {
  const allowances = [];
  const reply = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks);
    const m = /^\/wx-pay\/admin\/(payouts|payout_grant|payout_revoke)$/.exec(req.url);
    if (!m) { // everything else is the demo's
      const r = await fetch(demo.service + req.url, {
        method: req.method,
        headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))),
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : raw,
      });
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') || 'text/plain' });
      res.end(Buffer.from(await r.arrayBuffer()));
      return;
    }
    if (req.headers['x-pay-common-admin-token'] !== demo.admin) return reply(res, 403, { code: -1, error: 'ADMIN_REQUIRED', msg: 'admin', data: null });
    const body = JSON.parse(raw.toString() || '{}');
    const now = new Date().toISOString();
    if (m[1] === 'payouts') {
      const list = allowances.filter((a) => !body.openid || a.openid === body.openid).slice().reverse();
      return reply(res, 200, { code: 0, msg: 'success', data: { status: 200, data: { allowances: list } } });
    }
    if (m[1] === 'payout_grant') {
      const a = {
        allowance_id: 'pa_' + (allowances.length + 1).toString().padStart(8, '0'), openid: body.openid, amount: body.amount,
        claimed: 0, remaining: body.amount, state: 'ACTIVE', transfer_scene_id: body.transfer_scene_id ?? '1000',
        transfer_remark: body.transfer_remark ?? null, expires_at: body.expires_at ?? null, created_at: now, updated_at: now,
      };
      allowances.push(a);
      return reply(res, 200, { code: 0, msg: 'success', data: { status: 200, data: a } });
    }
    const a = allowances.find((x) => x.allowance_id === body.allowance_id);
    if (!a) return reply(res, 404, { code: -1, error: 'NOT_FOUND', msg: 'no such allowance', data: null });
    Object.assign(a, { state: 'REVOKED', updated_at: now });
    return reply(res, 200, { code: 0, msg: 'success', data: { status: 200, data: a } });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, service: `http://127.0.0.1:${server.address().port}` };
}

test('console: grant and revoke clicks against the agreed payout-allowance API shape', { skip: NO_BROWSER }, async () => {
  const api = await agreedPayoutApi();
  try {
    await browser.go('about:blank');
    await browser.go(`${api.service}/console/#token=${demo.admin}`);
    await browser.waitFor(() => browser.text('#payouts-note'), (t) => /^No allowances yet/.test(t), 'the empty allowance list');
    await grantAndRevokeByClicks(api.service, 'console-5-agreed-payout');
  } finally {
    api.server.close();
  }
});
