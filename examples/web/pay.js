// Web pay (H5 / Native) against pay-common: plain JavaScript, no build. Every answer is unwrapped
// the documented way (body.data?.data || body.data) and every refusal is shown with its msg.
'use strict';

const POLL_MS = 2000;
const MAX_POLLS = 300; // stop following after ~10 minutes (the order expires anyway)
let current = null; // { out_trade_no, order_token }
let polls = 0;

const $ = (id) => document.getElementById(id);
$('api').value = $('api').value || location.origin;

function show(text, isError) {
  $('result').textContent = text;
  $('result').className = isError ? 'error' : '';
}

async function call(route, body) {
  const res = await fetch($('api').value.replace(/\/$/, '') + '/wx-pay/' + route, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  let env = {};
  try { env = await res.json(); } catch (_) { env = { code: -1, msg: 'HTTP ' + res.status }; }
  if (env.code !== 0) {
    const e = new Error(env.msg || 'HTTP ' + res.status);
    e.error = env.error;
    throw e;
  }
  return env.data?.data || env.data || {};
}

async function follow() {
  if (!current) return;
  try {
    const d = await call('wxpay_query_order_by_out_trade_no', current);
    $('state').innerHTML = '';
    const s = document.createElement('span');
    s.className = d.trade_state;
    s.textContent = current.out_trade_no + ': ' + d.trade_state;
    $('state').appendChild(s);
    if (['SUCCESS', 'CLOSED', 'PAYERROR', 'REFUND', 'REVOKED'].includes(d.trade_state)) {
      $('close').disabled = true;
      current = null;
      return;
    }
  } catch (e) {
    show('Query refused: ' + e.message + (e.error ? ' (' + e.error + ')' : ''), true);
  }
  if (++polls < MAX_POLLS) setTimeout(follow, POLL_MS);
}

$('form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const kind = $('kind').value;
  const out_trade_no = 'WEB' + Date.now();
  const body = {
    description: 'Web order',
    out_trade_no,
    amount: { total: Number($('amount').value), currency: 'CNY' },
  };
  if (kind === 'h5') body.scene_info = { payer_client_ip: '127.0.0.1', h5_info: { type: 'Wap' } };
  try {
    const d = await call(kind === 'h5' ? 'wxpay_order_h5' : 'wxpay_order_native', body);
    current = { out_trade_no, order_token: d.order_token };
    polls = 0;
    $('close').disabled = false;
    if (kind === 'native') {
      show('Scan with WeChat to pay (code_url):\n' + d.code_url);
    } else {
      show('Open in the mobile browser to pay:\n' + d.h5_url);
    }
    follow();
  } catch (e) {
    show('Order refused: ' + e.message + (e.error ? ' (' + e.error + ')' : ''), true);
  }
});

$('close').addEventListener('click', async () => {
  if (!current) return;
  try {
    await call('wxpay_close_order', current);
    show('Closed ' + current.out_trade_no);
    $('close').disabled = true;
    current = null;
  } catch (e) {
    show('Close refused: ' + e.message + (e.error ? ' (' + e.error + ')' : ''), true);
  }
});
