// examples/web in a real browser: headless chromium driven over WebDriver opens the page the demo
// serves at /console/web/, places a Native order, the QR code it draws decodes (zbarimg) to the
// order's exact code_url, the simulator's user pays and the page follows the order to SUCCESS; a
// second order closed from the page shows CLOSED. Screenshots: target/screenshots/web-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, postJson, adminCall } from './harness.mjs';
import { HAVE_ZBARIMG, zbarDecode } from './qrtools.mjs';
import { Browser, NO_BROWSER } from './webdriver.mjs';

const skip = NO_BROWSER || (HAVE_ZBARIMG ? false : 'SKIPPED: zbarimg not found (apt-get install zbar-tools)');
let demo;
let browser;
before(async () => {
  if (skip) return;
  demo = await startDemo();
  browser = await Browser.start({ width: 1000, height: 1200 });
});
after(async () => {
  await browser?.stop();
  await demo?.stop();
});

// Places a Native order from the page; answers { no, codeUrl } as the page shows them.
async function placeNative(amount) {
  await browser.select('#kind', 'native');
  await browser.type('#amount', amount);
  // The page keeps the last answer on screen until the new one arrives: wait for a new text,
  // or a second order reads the first one's code_url.
  const before = await browser.text('#result');
  await browser.click('#order');
  const result = await browser.waitFor(() => browser.text('#result'), (t) => t !== before && (/code_url/.test(t) || /refused/i.test(t)), 'the order answer');
  assert.match(result, /^Scan with WeChat to pay \(code_url\):\n(weixin:\/\/\S+)$/, 'the page shows the code_url');
  const codeUrl = result.split('\n')[1];
  const state = await browser.waitFor(() => browser.text('#state'), (t) => /NOTPAY/.test(t), 'the page to show the new order NOTPAY');
  const no = /^(WEB\d+): NOTPAY$/.exec(state)?.[1];
  assert.ok(no, 'state line names the order: ' + state);
  return { no, codeUrl };
}

test('the web page draws the Native code_url as a QR code and follows the order to SUCCESS, then closes another', { skip }, async () => {
  await browser.go(demo.service + '/console/web/');
  assert.equal(await browser.execute('return document.title'), 'pay-common web pay (H5 / Native)');
  assert.equal(await browser.execute('return document.getElementById("api").value'), demo.service, 'the page calls its own origin');
  assert.equal(await browser.displayed('#qr'), false, 'no QR code before an order');

  const first = await placeNative(20);
  assert.equal(await browser.displayed('#qr'), true, 'the QR code is shown');
  const canvas = await browser.execute(`const c = document.getElementById('qr');
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let dark = 0; for (let i = 0; i < px.length; i += 4) if (px[i] < 128) dark++;
    return { width: c.width, height: c.height, dark };`);
  assert.ok(canvas.width > 100 && canvas.width === canvas.height, 'a square canvas: ' + JSON.stringify(canvas));
  assert.ok(canvas.dark > 0, 'the canvas has dark modules');
  const page = await browser.screenshot('web-1-native-order.png');
  const qr = await browser.screenshot('web-1-qr.png', '#qr');
  const [fromQr, fromPage] = zbarDecode([qr, page]);
  assert.deepEqual(fromQr, [first.codeUrl], 'the drawn QR code decodes to the exact code_url');
  assert.deepEqual(fromPage, [first.codeUrl], 'the full-page screenshot holds the one QR code');

  // The user scans and pays: the simulator's control API, as the console's 📱 Pay button does.
  const paid = await postJson(`${demo.sim}/sim/orders/${first.no}/pay`, {});
  assert.equal(paid.status, 200, JSON.stringify(paid.data));
  await browser.waitFor(() => browser.text('#state'), (t) => t === `${first.no}: SUCCESS`, 'the page to follow the order to SUCCESS');
  assert.equal(await browser.execute('return document.querySelector("#state span").className'), 'SUCCESS');
  assert.equal(await browser.displayed('#qr'), false, "a paid order's QR code is taken down");
  assert.equal(await browser.execute('return document.getElementById("close").disabled'), true);
  await browser.screenshot('web-2-success.png');

  const second = await placeNative(35);
  assert.notEqual(second.codeUrl, first.codeUrl);
  const [again] = zbarDecode([await browser.screenshot('web-3-qr.png', '#qr')]);
  assert.deepEqual(again, [second.codeUrl], 'the second QR code decodes to the second code_url');
  await browser.click('#close');
  await browser.waitFor(() => browser.text('#state'), (t) => t === `${second.no}: CLOSED`, 'the page to show the closed order CLOSED');
  assert.equal(await browser.text('#result'), 'Closed ' + second.no);
  assert.equal(await browser.displayed('#qr'), false, "a closed order's QR code is taken down");
  await browser.screenshot('web-4-closed.png');

  // The ledger agrees with what the page showed.
  const view = async (no) => (await adminCall(demo, '/console/api/state', {})).orders.find((o) => o.out_trade_no === no)?.state;
  assert.equal(await view(first.no), 'PAID');
  assert.equal(await view(second.no), 'CLOSED');
});
