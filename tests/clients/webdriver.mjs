// A minimal W3C WebDriver client over Node's fetch, driving Debian's headless chromium through
// chromedriver (Debian chromium-driver). No npm packages.
//
//   const browser = await Browser.start();
//   await browser.go(url);
//   await browser.click('#order');
//   await browser.waitFor(() => browser.text('#state'), (t) => /SUCCESS/.test(t), 'the order to succeed');
//   await browser.stop();
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
export const SCREENSHOTS = join(ROOT, 'target', 'screenshots');

function found(cmd) {
  return spawnSync(cmd, ['--version']).status === 0;
}

export const CHROMIUM = ['chromium', 'chromium-browser'].find(found);
export const CHROMEDRIVER = ['chromedriver'].find(found);
// Why a browser test cannot run here, or false when it can.
export const NO_BROWSER = !CHROMIUM
  ? 'SKIPPED: chromium not found (apt-get install chromium)'
  : !CHROMEDRIVER ? 'SKIPPED: chromedriver not found (apt-get install chromium-driver)' : false;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export class WebDriverError extends Error {
  constructor(method, path, status, value) {
    super(`${method} ${path}: ${status} ${value?.error ?? ''}: ${value?.message ?? JSON.stringify(value)}`);
    this.error = value?.error;
  }
}

export class Browser {
  constructor(driver, base, session) {
    this.driver = driver;
    this.base = base;
    this.session = session;
  }

  // Starts chromedriver on a free port and opens a headless chromium session.
  static async start({ width = 1400, height = 1800 } = {}) {
    const port = await freePort();
    const driver = spawn(CHROMEDRIVER, [`--port=${port}`], { stdio: ['ignore', 'ignore', 'inherit'] });
    const base = `http://127.0.0.1:${port}`;
    let ready = false;
    for (let i = 0; i < 200 && !ready; i++) {
      try {
        const r = await fetch(base + '/status', { signal: AbortSignal.timeout(2_000) });
        ready = (await r.json()).value?.ready === true;
      } catch {
        // not listening yet
      }
      if (!ready) await sleep(100);
    }
    if (!ready) {
      driver.kill();
      throw new Error('chromedriver did not become ready on port ' + port);
    }
    const profile = mkdtempSync(join(tmpdir(), 'pay-common-webdriver-'));
    const browser = new Browser(driver, base, null);
    const created = await browser.request('POST', '/session', {
      capabilities: {
        alwaysMatch: {
          browserName: 'chrome',
          'goog:chromeOptions': {
            binary: spawnSync('sh', ['-c', `command -v ${CHROMIUM}`], { encoding: 'utf8' }).stdout.trim(),
            args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
              `--window-size=${width},${height}`, `--user-data-dir=${profile}`],
          },
        },
      },
    });
    browser.session = created.sessionId;
    return browser;
  }

  async request(method, path, body) {
    const res = await fetch(this.base + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const json = await res.json();
    if (!res.ok) throw new WebDriverError(method, path, res.status, json.value);
    return json.value;
  }

  cmd(method, path, body) {
    return this.request(method, `/session/${this.session}${path}`, body);
  }

  async stop() {
    try {
      if (this.session) await this.cmd('DELETE', '');
    } finally {
      this.driver.kill();
    }
  }

  go(url) {
    return this.cmd('POST', '/url', { url });
  }

  // Runs `script` (a function body; `arguments` holds args) in the page and answers its value.
  execute(script, args = []) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }

  async find(css) {
    const v = await this.cmd('POST', '/element', { using: 'css selector', value: css });
    return v[ELEMENT];
  }

  async findAll(css) {
    const v = await this.cmd('POST', '/elements', { using: 'css selector', value: css });
    return v.map((e) => e[ELEMENT]);
  }

  // Element commands re-find the element when the page re-rendered it meanwhile (the console
  // rebuilds its tables every second).
  async onElement(css, fn) {
    for (let i = 0; ; i++) {
      try {
        return await fn(await this.find(css));
      } catch (e) {
        const retry = e.error === 'stale element reference' || e.error === 'no such element' ||
          e.error === 'element click intercepted' || e.error === 'element not interactable';
        if (!retry || i >= 50) throw e;
        await sleep(100);
      }
    }
  }

  click(css) {
    return this.onElement(css, (id) => this.cmd('POST', `/element/${id}/click`, {}));
  }

  // Replaces an input's value by typing, as a user would.
  type(css, text) {
    return this.onElement(css, async (id) => {
      await this.cmd('POST', `/element/${id}/clear`, {});
      await this.cmd('POST', `/element/${id}/value`, { text: String(text) });
    });
  }

  select(css, value) {
    return this.click(`${css} option[value="${value}"]`);
  }

  text(css) {
    return this.onElement(css, (id) => this.cmd('GET', `/element/${id}/text`));
  }

  async exists(css) {
    return (await this.findAll(css)).length > 0;
  }

  displayed(css) {
    return this.onElement(css, (id) => this.cmd('GET', `/element/${id}/displayed`));
  }

  // Polls `read` until `done(value)` holds (bounded by tries, not by a clock); answers the value.
  async waitFor(read, done, what, tries = 300) {
    let last;
    for (let i = 0; i < tries; i++) {
      try {
        last = await read();
        if (done(last)) return last;
      } catch (e) {
        last = e;
      }
      await sleep(100);
    }
    throw new Error(`waited for ${what}; last seen: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
  }

  // Saves a screenshot of the page (or of one element) under target/screenshots/; answers the path.
  async screenshot(name, css) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const b64 = css
      ? await this.onElement(css, (id) => this.cmd('GET', `/element/${id}/screenshot`))
      : await this.cmd('GET', '/screenshot');
    const path = join(SCREENSHOTS, name);
    writeFileSync(path, Buffer.from(b64, 'base64'));
    return path;
  }
}
