// pay-common console: plain JavaScript, no build. Every call carries the admin credential from
// the URL fragment (#token=...), kept in sessionStorage; the page polls the ledger each second.
'use strict';

const POLL_MS = 1000;
let token = '';
let simulator = false;

function readToken() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('pay-common-admin', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname);
  }
  return sessionStorage.getItem('pay-common-admin') || '';
}

function show(text, isError) {
  const el = document.getElementById('message');
  el.textContent = text;
  el.className = isError ? 'error' : '';
}

// POST JSON, answer the envelope's payload or throw an Error carrying `msg` and `error`.
async function post(path, body, headers) {
  const res = await fetch(path, {
    method: 'POST',
    headers: Object.assign({ 'content-type': 'application/json' }, headers || {}),
    body: JSON.stringify(body || {}),
  });
  const text = await res.text();
  let env = {};
  try { env = text ? JSON.parse(text) : {}; } catch (_) { env = { msg: text }; }
  if (!res.ok || (env.code !== undefined && env.code !== 0)) {
    const e = new Error(env.msg || ('HTTP ' + res.status));
    e.error = env.error;
    e.status = res.status;
    throw e;
  }
  return env.data && env.data.data !== undefined ? env.data.data : env.data;
}

function admin(path, body) {
  return post(path, body, { 'x-pay-common-admin-token': token });
}

function when(secs) {
  return secs ? new Date(secs * 1000).toLocaleTimeString() : '';
}

function cell(tr, value, cls) {
  const td = document.createElement('td');
  td.textContent = value === null || value === undefined ? '' : String(value);
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function button(td, label, action, name) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.dataset.action = name;
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await action();
      await refresh();
    } catch (e) {
      show(label + ': ' + e.message, true);
    } finally {
      b.disabled = false;
    }
  });
  td.appendChild(b);
}

function sim(kind, no, action, body) {
  return admin('/console/api/sim/' + kind + '/' + encodeURIComponent(no) + '/' + action, body);
}

const KEYS = { orders: 'out_trade_no', refunds: 'out_refund_no', transfers: 'out_bill_no', payouts: 'allowance_id', events: 'id' };

function fill(id, rows, render) {
  const tbody = document.querySelector('#' + id + ' tbody');
  tbody.replaceChildren();
  for (const row of rows) {
    const tr = document.createElement('tr');
    tr.dataset.key = row[KEYS[id]];
    render(tr, row);
    tbody.appendChild(tr);
  }
}

function renderOrders(orders) {
  fill('orders', orders, (tr, o) => {
    cell(tr, o.out_trade_no);
    cell(tr, o.owner);
    cell(tr, o.trade_type);
    cell(tr, o.amount);
    cell(tr, o.refunded);
    cell(tr, o.state, 'state ' + o.state);
    cell(tr, o.transaction_id);
    cell(tr, when(o.created_at));
    const td = cell(tr, '');
    const open = o.state === 'NOTPAY' || o.state === 'USERPAYING';
    if (open && simulator) {
      button(td, '📱 Pay', () => sim('orders', o.out_trade_no, 'pay').then(() => show('Paid ' + o.out_trade_no + ' on the simulator; waiting for the callback')), 'pay');
      button(td, '📱 Fail', () => sim('orders', o.out_trade_no, 'fail'), 'fail');
    }
    if (open) {
      button(td, 'Close', () => admin('/wx-pay/wxpay_close_order', { out_trade_no: o.out_trade_no }).then(() => show('Closed ' + o.out_trade_no)), 'close');
    }
    const left = o.amount - o.refunded - o.refund_pending;
    if (o.state === 'PAID' && left > 0) {
      button(td, 'Refund ' + left, () => admin('/wx-pay/wxpay_refund', {
        out_trade_no: o.out_trade_no,
        out_refund_no: 'R' + o.out_trade_no.slice(0, 20) + Date.now().toString(36),
        amount: { refund: left, total: o.amount, currency: 'CNY' },
      }).then((r) => show('Refund ' + r.out_refund_no + ': ' + r.status)), 'refund');
    }
  });
}

function renderRefunds(refunds) {
  fill('refunds', refunds, (tr, r) => {
    cell(tr, r.out_refund_no);
    cell(tr, r.out_trade_no);
    cell(tr, r.amount);
    cell(tr, r.state, 'state ' + r.state);
    cell(tr, r.refund_id);
    cell(tr, when(r.created_at));
    const td = cell(tr, '');
    if (simulator && r.state === 'PROCESSING') {
      button(td, '📱 Finish refund', () => sim('refunds', r.out_refund_no, 'complete', { status: 'SUCCESS' }), 'complete');
    }
  });
}

function renderTransfers(transfers) {
  fill('transfers', transfers, (tr, t) => {
    cell(tr, t.out_bill_no);
    cell(tr, t.openid);
    cell(tr, t.amount);
    cell(tr, t.state, 'state ' + t.state);
    cell(tr, t.transfer_bill_no);
    cell(tr, t.fail_reason);
    const td = cell(tr, '');
    const waiting = !['SUCCESS', 'FAIL', 'CANCELLED'].includes(t.state);
    if (simulator && waiting) {
      button(td, '📱 Confirm', () => sim('transfers', t.out_bill_no, 'confirm'), 'confirm');
    }
  });
}

function renderEvents(events) {
  fill('events', events.slice().reverse(), (tr, e) => {
    cell(tr, e.id);
    cell(tr, e.event_type);
    cell(tr, when(e.created_at));
    cell(tr, e.delivered_at ? 'delivered ' + when(e.delivered_at) : 'pending', e.delivered_at ? 'delivered' : '');
    cell(tr, e.attempts);
    cell(tr, e.last_error);
  });
}

// Payout allowances (the payout-allowance API: admin/payouts, admin/payout_grant,
// admin/payout_revoke). A server without that API answers the unknown-route error; the section
// then says so and the rest of the console carries on.
let payoutsAvailable = true;
const ALLOWANCE_STATES = ['ACTIVE', 'EXHAUSTED', 'REVOKED', 'EXPIRED'];
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function missingRoute(e) {
  return e.status === 404 || e.error === 'UNSUPPORTED_ACTION' || e.error === 'NOT_FOUND';
}

function payoutsUnavailable(e) {
  payoutsAvailable = false;
  document.getElementById('payouts-body').classList.add('hidden');
  document.getElementById('payouts-note').textContent =
    'Payouts not available: this server has no payout-allowance API (admin/payouts answered ' + (e.error || 'HTTP ' + e.status) + ').';
}

// The allowance object as agreed; anything else is reported, not shown as a success.
function allowance(a) {
  const ok = a && typeof a === 'object' && /^pa_/.test(a.allowance_id) && typeof a.openid === 'string' &&
    [a.amount, a.claimed, a.remaining].every(Number.isInteger) && ALLOWANCE_STATES.includes(a.state);
  if (!ok) throw new Error('unexpected allowance in the answer: ' + JSON.stringify(a));
  return a;
}

async function renderPayouts() {
  if (!payoutsAvailable) return;
  const note = document.getElementById('payouts-note');
  let d;
  try {
    d = await admin('/wx-pay/admin/payouts', {});
  } catch (e) {
    if (missingRoute(e)) payoutsUnavailable(e);
    else note.textContent = 'Payout allowances: ' + e.message;
    return;
  }
  if (!d || !Array.isArray(d.allowances)) {
    note.textContent = 'Payout allowances: unexpected answer ' + JSON.stringify(d);
    return;
  }
  note.textContent = d.allowances.length ? '' : 'No allowances yet: grant one below.';
  fill('payouts', d.allowances, (tr, a) => {
    cell(tr, a.allowance_id);
    cell(tr, a.openid);
    cell(tr, a.amount);
    cell(tr, a.claimed);
    cell(tr, a.remaining);
    cell(tr, a.state, 'state ' + a.state);
    cell(tr, a.transfer_remark);
    cell(tr, a.expires_at);
    cell(tr, a.created_at);
    const td = cell(tr, '');
    if (a.state === 'ACTIVE') {
      button(td, 'Revoke', async () => {
        const r = allowance(await admin('/wx-pay/admin/payout_revoke', { allowance_id: a.allowance_id }));
        if (r.state !== 'REVOKED') throw new Error('the allowance is ' + r.state + ' after revoking');
        show('Revoked ' + r.allowance_id + ' (' + r.claimed + ' of ' + r.amount + ' fen were claimed)');
      }, 'revoke');
    }
  });
}

async function grant(ev) {
  ev.preventDefault();
  const amount = Number(document.getElementById('grant-amount').value);
  const expires = document.getElementById('grant-expires').value.trim();
  const remark = document.getElementById('grant-remark').value.trim();
  if (!Number.isInteger(amount) || amount < 1) return show('Grant: amount must be a whole number of fen, at least 1', true);
  if (expires && !RFC3339.test(expires)) return show('Grant: expires at must be an RFC 3339 time such as 2030-01-01T00:00:00+08:00', true);
  const body = { openid: document.getElementById('grant-openid').value.trim(), amount };
  if (remark) body.transfer_remark = remark;
  if (expires) body.expires_at = expires;
  const submit = document.getElementById('grant-submit');
  submit.disabled = true;
  try {
    const a = allowance(await admin('/wx-pay/admin/payout_grant', body));
    show('Granted ' + a.allowance_id + ': ' + a.amount + ' fen to ' + a.openid + ' (' + a.state + ')');
    await refresh();
  } catch (e) {
    if (missingRoute(e)) payoutsUnavailable(e);
    show('Grant refused: ' + e.message, true);
  } finally {
    submit.disabled = false;
  }
}

async function refresh() {
  const s = await admin('/console/api/state', {});
  renderOrders(s.orders);
  renderRefunds(s.refunds);
  renderTransfers(s.transfers);
  renderEvents(s.events);
  await renderPayouts();
  document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
}

async function placeOrder(ev) {
  ev.preventDefault();
  const route = document.getElementById('order-kind').value;
  const openid = document.getElementById('order-openid').value.trim();
  const no = 'WEB' + Date.now();
  const body = {
    description: document.getElementById('order-description').value,
    out_trade_no: no,
    amount: { total: Number(document.getElementById('order-amount').value), currency: 'CNY' },
  };
  if (route === 'wxpay_order_h5') {
    body.scene_info = { payer_client_ip: '127.0.0.1', h5_info: { type: 'Wap' } };
  }
  try {
    await post('/wx-pay/' + route, body, openid ? { 'x-wx-openid': openid } : {});
    show('Placed ' + no + '; press 📱 Pay to pay it');
    await refresh();
  } catch (e) {
    show('Order refused: ' + e.message, true);
  }
}

async function start() {
  token = readToken();
  const login = document.getElementById('login');
  if (!token) {
    login.classList.remove('hidden');
    return;
  }
  try {
    const info = await admin('/console/api/info', {});
    simulator = info.simulator;
  } catch (e) {
    sessionStorage.removeItem('pay-common-admin');
    login.classList.remove('hidden');
    show('Console refused: ' + e.message, true);
    return;
  }
  login.classList.add('hidden');
  if (simulator) {
    document.getElementById('mode').classList.remove('hidden');
    document.getElementById('place').classList.remove('hidden');
  }
  const tick = async () => {
    try { await refresh(); } catch (e) { show('Refresh failed: ' + e.message, true); }
    setTimeout(tick, POLL_MS);
  };
  tick();
}

document.getElementById('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem('pay-common-admin', document.getElementById('token-input').value.trim());
  start();
});
document.getElementById('order-form').addEventListener('submit', placeOrder);
document.getElementById('grant-form').addEventListener('submit', grant);
document.getElementById('reconcile').addEventListener('click', async () => {
  try {
    const r = await admin('/wx-pay/admin/reconcile', {});
    show('Reconcile pass: ' + JSON.stringify(r.reconcile));
    await refresh();
  } catch (e) {
    show('Reconcile refused: ' + e.message, true);
  }
});
start();
