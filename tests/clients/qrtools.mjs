// Test helpers around QR images: load examples/web/qr.js verbatim, write a module matrix as a
// greyscale PNG, and read QR codes back from image files with zbarimg (Debian zbar-tools), an
// independent decoder.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';
import zlib from 'node:zlib';
import { ROOT } from './harness.mjs';

export const HAVE_ZBARIMG = spawnSync('zbarimg', ['--version']).status === 0;

// The page's script, run as a browser would run it; answers its global PayQR.
export function loadPayQR() {
  const context = vm.createContext({ TextEncoder });
  const path = join(ROOT, 'examples/web/qr.js');
  vm.runInContext(readFileSync(path, 'utf8'), context, { filename: path });
  return context.PayQR;
}

function chunk(type, data) {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([head, body, crc]);
}

// A PNG (8-bit greyscale) of modules[y][x] (1 = dark), `scale` pixels per module, a light border.
export function matrixPng(modules, { scale = 4, border = 4 } = {}) {
  const size = modules.length;
  const width = (size + border * 2) * scale;
  const raw = Buffer.alloc((width + 1) * width, 255);
  for (let y = 0; y < width; y++) {
    raw[y * (width + 1)] = 0; // filter: none
    const my = Math.floor(y / scale) - border;
    for (let x = 0; x < width; x++) {
      const mx = Math.floor(x / scale) - border;
      if (my >= 0 && my < size && mx >= 0 && mx < size && modules[my][mx]) raw[y * (width + 1) + 1 + x] = 0;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(width, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// Decodes every QR code in each file; answers one array of texts per file (in file order).
export function zbarDecode(files) {
  const r = spawnSync('zbarimg', ['-q', '--xml', '-Sdisable', '-Sqrcode.enable', ...files], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  const bySource = new Map(files.map((f) => [f, []]));
  for (const source of r.stdout.split('<source href=').slice(1)) {
    const href = /^'([^']*)'/.exec(source)[1];
    const texts = bySource.get(href) ?? [];
    for (const m of source.matchAll(/<data( format='base64')?[^>]*><!\[CDATA\[([\s\S]*?)\]\]><\/data>/g)) {
      // zbarimg 0.23's XML mangles non-ASCII bytes in its base64 form; --raw prints them right.
      texts.push(...(m[1] ? rawDecode(href) : [m[2]]));
    }
    bySource.set(href, texts);
  }
  return files.map((f) => bySource.get(f));
}

function rawDecode(file) {
  const out = execFileSync('zbarimg', ['-q', '--raw', '-Sdisable', '-Sqrcode.enable', file], {
    encoding: 'utf8',
    env: { ...process.env, LANG: 'C.UTF-8' },
  });
  return out.replace(/\n$/, '').split('\n');
}
