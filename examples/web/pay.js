// Web pay (H5 / Native) against pay-common: plain JavaScript, no build. Every answer is unwrapped
// the documented way (body.data?.data || body.data) and every refusal is shown with its msg.
'use strict';

const POLL_MS = 2000;
const MAX_POLLS = 300; // stop following after ~10 minutes (the order expires anyway)
let current = null; // { out_trade_no, order_token }
let polls = 0;
let following = 0; // the generation of the follow loop that may run

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

// Shows the order's trade_state from a query; answers it.
async function showState(order) {
  const d = await call('wxpay_query_order_by_out_trade_no', order);
  const s = document.createElement('span');
  s.className = d.trade_state;
  s.textContent = order.out_trade_no + ': ' + d.trade_state;
  $('state').replaceChildren(s);
  return d.trade_state;
}

// Follows one order until it ends; `generation` stops a loop once a newer order replaced it.
async function follow(order, generation) {
  if (generation !== following || !current) return;
  try {
    const state = await showState(order);
    if (['SUCCESS', 'CLOSED', 'PAYERROR', 'REFUND', 'REVOKED'].includes(state)) {
      $('close').disabled = true;
      $('qr').classList.add('hidden'); // a finished order's code must not be scanned again
      current = null;
      return;
    }
  } catch (e) {
    show('Query refused: ' + e.message + (e.error ? ' (' + e.error + ')' : ''), true);
  }
  if (++polls < MAX_POLLS) setTimeout(() => follow(order, generation), POLL_MS);
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
    following++;
    $('close').disabled = false;
    if (kind === 'native') {
      // The code_url drawn as a QR code (qr.js: byte mode, level M) for WeChat's scanner.
      PayQR.drawCanvas(PayQR.encode(d.code_url, { ecl: 'M' }), $('qr'), { scale: 6 });
      $('qr').classList.remove('hidden');
      show('Scan with WeChat to pay (code_url):\n' + d.code_url);
    } else {
      $('qr').classList.add('hidden');
      show('Open in the mobile browser to pay:\n' + d.h5_url);
    }
    follow(current, following);
  } catch (e) {
    show('Order refused: ' + e.message + (e.error ? ' (' + e.error + ')' : ''), true);
  }
});

$('close').addEventListener('click', async () => {
  const closing = current;
  if (!closing) return;
  try {
    await call('wxpay_close_order', closing);
  } catch (e) {
    show('Close refused: ' + e.message + (e.error ? ' (' + e.error + ')' : ''), true);
    return;
  }
  current = null; // stops the follow loop
  $('close').disabled = true;
  $('qr').classList.add('hidden');
  show('Closed ' + closing.out_trade_no);
  try {
    await showState(closing); // the state line shows what WeChat now says (CLOSED)
  } catch (e) {
    show('Query refused: ' + e.message + (e.error ? ' (' + e.error + ')' : ''), true);
  }
});
