// Test harness for the client examples: starts `pay-common demo` on port 0 (service + simulator,
// SQLite ledger, refundPolicy=owner-full) and loads a Mini Program / WeDa page's JS verbatim with
// fake App/Page/getApp/wx globals whose calls are real HTTP calls to that service.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import crypto from 'node:crypto';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = process.env.PAY_COMMON_BIN;
const START_TIMEOUT_MS = 60_000;

// Starts the demo; resolves { service, sim, admin, info, stop }.
export async function startDemo() {
  if (!BIN) throw new Error('PAY_COMMON_BIN is not set (run through cargo test --test clients)');
  const dir = mkdtempSync(join(tmpdir(), 'pay-common-clients-'));
  const child = spawn(BIN, ['demo', '--port', '0', '--sim-port', '0', '--database', join(dir, 'demo.db')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const banner = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('demo did not start in time:\n' + out)), START_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('Ready. Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`demo exited ${code}:\n${out}`)); });
  });
  const service = /^service\s+(http:\/\/\S+)/m.exec(banner)[1];
  const sim = /^simulator\s+(http:\/\/\S+)/m.exec(banner)[1];
  const consoleUrl = /(http:\/\/\S+\/console\/#token=\S+)/.exec(banner)[1];
  const admin = consoleUrl.split('#token=')[1];
  const demo = { service, sim, admin, consoleUrl, child };
  demo.info = await adminCall(demo, '/console/api/info', {});
  demo.stop = () => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
  return demo;
}

export async function postJson(url, body, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body ?? {}),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let data = '';
  try { data = text ? JSON.parse(text) : ''; } catch { data = text; }
  return { status: res.status, data, headers: Object.fromEntries(res.headers) };
}

export async function adminCall(demo, path, body) {
  const r = await postJson(demo.service + path, body, { 'x-pay-common-admin-token': demo.admin });
  if (r.status !== 200 || r.data.code !== 0) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.data)}`);
  return r.data.data.data ?? r.data.data;
}

// The fake wx: callHTTPFunction / callContainer go to the real service with the openid injected.
export function fakeWx(demo, openid, log) {
  const transport = async (path, opts) => {
    log.calls.push({ path, data: opts.data, header: opts.header, config: opts.config });
    if (typeof opts.data?.out_trade_no === 'string' && /wxpay_order/.test(path)) log.lastOrder = opts.data.out_trade_no;
    const r = await postJson(demo.service + path, opts.data, { ...(opts.header || {}), 'x-wx-openid': openid });
    return { statusCode: r.status, header: r.headers, data: r.data, errMsg: 'cloud.callHTTPFunction:ok' };
  };
  const deliver = (promise, opts) => promise.then(
    (res) => { opts.success?.(res); opts.complete?.(res); return res; },
    (err) => { const e = { errMsg: String(err) }; opts.fail?.(e); opts.complete?.(e); throw e; },
  );
  return {
    cloud: {
      inited: null,
      init(o) { this.inited = o; },
      callHTTPFunction(opts) {
        if (!opts.name) throw new Error('callHTTPFunction without name');
        if (!opts.path?.startsWith('/wx-pay/')) throw new Error('callHTTPFunction path must be /wx-pay/<route>: ' + opts.path);
        return deliver(transport(opts.path, opts), opts);
      },
      callContainer(opts) {
        if (!opts.config?.env) throw new Error('callContainer without config.env');
        if (!opts.header?.['X-WX-SERVICE']) throw new Error('callContainer without header X-WX-SERVICE');
        if (!opts.path?.startsWith('/wx-pay/')) throw new Error('callContainer path must be /wx-pay/<route>: ' + opts.path);
        const header = { ...opts.header };
        delete header['X-WX-SERVICE'];
        return deliver(transport(opts.path, { ...opts, header }), opts);
      },
    },
    // Verifies paySign with the merchant public key, then has the simulator's user pay.
    requestPayment(opts) {
      const msg = `${demo.info.appid}\n${opts.timeStamp}\n${opts.nonceStr}\n${opts.package}\n`;
      const okSign = opts.signType === 'RSA' && crypto.verify('RSA-SHA256', Buffer.from(msg),
        demo.info.merchant_public_key_pem, Buffer.from(opts.paySign, 'base64'));
      log.payments.push({ ok: okSign, package: opts.package });
      if (!okSign) { opts.fail?.({ errMsg: 'requestPayment:fail bad paySign' }); return; }
      if (log.cancelPayment) { opts.fail?.({ errMsg: 'requestPayment:fail cancel' }); return; }
      postJson(`${demo.sim}/sim/orders/${log.lastOrder}/pay`, {}).then((r) => {
        if (r.status === 200) opts.success?.({ errMsg: 'requestPayment:ok' });
        else opts.fail?.({ errMsg: 'requestPayment:fail ' + JSON.stringify(r.data) });
      }, (e) => opts.fail?.({ errMsg: String(e) }));
    },
    // Checks what wx.requestMerchantTransfer needs, then has the payee confirm on the simulator.
    requestMerchantTransfer(opts) {
      const okArgs = opts.mchId === demo.info.mchid && opts.appId === demo.info.appid &&
        typeof opts.package === 'string' && opts.package.length > 0;
      log.transfers.push({ ok: okArgs, opts: { mchId: opts.mchId, appId: opts.appId, package: opts.package } });
      if (!okArgs) { opts.fail?.({ errMsg: 'requestMerchantTransfer:fail bad arguments' }); return; }
      const no = log.calls.length && log.lastBill;
      postJson(`${demo.sim}/sim/transfers/${no}/confirm`, {}).then((r) => {
        if (r.status === 200) opts.success?.({ errMsg: 'requestMerchantTransfer:ok' });
        else opts.fail?.({ errMsg: 'requestMerchantTransfer:fail ' + JSON.stringify(r.data) });
      });
    },
    showToast(o) { log.toasts.push(o); },
    showModal(o) { log.modals.push(o); },
    showLoading() {}, hideLoading() {},
  };
}

// Loads app.js + a page's JS verbatim. Answers { page, app, log, wx }.
export function loadMiniProgram(demo, dir, { openid, functionName = 'pay-common', envId = 'test-env' } = {}) {
  const log = { calls: [], payments: [], transfers: [], toasts: [], modals: [] };
  const wx = fakeWx(demo, openid, log);
  let appDef = null;
  let pageDef = null;
  const context = vm.createContext({
    wx, console,
    // A quick clock: the page's "query 1–2 s later" waits a few milliseconds here.
    setTimeout: (fn, ms) => setTimeout(fn, Math.min(ms, 20)),
    clearTimeout,
    Promise, Date, Math, JSON,
    App(def) { appDef = def; },
    Page(def) { pageDef = def; },
    getApp() { return appDef; },
  });
  // ENV_ID / FUNCTION_NAME are the only lines a user edits; the test edits them the same way.
  const appSrc = readFileSync(join(dir, 'app.js'), 'utf8')
    .replace(/const ENV_ID = '[^']*'/, `const ENV_ID = '${envId}'`)
    .replace(/const FUNCTION_NAME = '[^']*'/, `const FUNCTION_NAME = '${functionName}'`);
  vm.runInContext(appSrc, context, { filename: join(dir, 'app.js') });
  appDef.onLaunch?.();
  vm.runInContext(readFileSync(join(dir, 'pages/index/index.js'), 'utf8'), context, { filename: 'pages/index/index.js' });
  const page = Object.create(pageDef);
  page.data = structuredClone(pageDef.data);
  page.setData = (patch) => {
    Object.assign(page.data, patch);
    if (patch.outBillNo) log.lastBill = patch.outBillNo;
  };
  page.onLoad?.({});
  return { page, app: appDef, log, wx };
}

// Presses a button until the page shows what `done` wants (bounded; no clock involved).
export async function pressUntil(page, handler, done, tries = 50) {
  for (let i = 0; i < tries; i++) {
    await page[handler]();
    if (done(page.data)) return page.data;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${handler}: never reached the wanted state; page shows ${JSON.stringify(page.data)}`);
}
