// examples/web/qr.js against ISO/IEC 18004: the structure of the symbol (finder, timing and
// alignment patterns, the dark module), the format and version information bits (the spec's
// tables C.1 and D.1), the byte-mode capacities (Table 7), Reed-Solomon codewords of known
// examples, and a round trip through an independent decoder (zbarimg) for every version and level,
// every mask, UTF-8 text and code_url-like payloads of several lengths; the SVG output is rendered
// by headless Chromium and decoded the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';
import { HAVE_ZBARIMG, loadPayQR, matrixPng, zbarDecode } from './qrtools.mjs';

const QR = loadPayQR();
const LEVELS = ['L', 'M', 'Q', 'H'];
const CHROMIUM = ['chromium', 'chromium-browser'].find((c) => spawnSync(c, ['--version']).status === 0);
const noZbar = HAVE_ZBARIMG ? false : 'SKIPPED: zbarimg not found (apt-get install zbar-tools)';

// Table C.1: the 15-bit format information (after the 101010000010010 mask), by level and mask.
const FORMAT = {
  L: ['111011111000100', '111001011110011', '111110110101010', '111100010011101', '110011000101111', '110001100011000', '110110001000001', '110100101110110'],
  M: ['101010000010010', '101000100100101', '101111001111100', '101101101001011', '100010111111001', '100000011001110', '100111110010111', '100101010100000'],
  Q: ['011010101011111', '011000001101000', '011111100110001', '011101000000110', '010010010110100', '010000110000011', '010111011011010', '010101111101101'],
  H: ['001011010001001', '001001110111110', '001110011100111', '001100111010000', '000011101100010', '000001001010101', '000110100001100', '000100000111011'],
};
// Table D.1: the 18-bit version information of some versions.
const VERSION_INFO = { 7: 0x07c94, 8: 0x085bc, 9: 0x09a99, 10: 0x0a4d3, 20: 0x149a6, 32: 0x209d5, 40: 0x28c69 };
// Table E.1: row/column coordinates of the alignment pattern centres.
const ALIGNMENT = {
  2: [6, 18], 6: [6, 34], 7: [6, 22, 38], 10: [6, 28, 50], 14: [6, 26, 46, 66], 21: [6, 28, 50, 72, 94],
  32: [6, 34, 60, 86, 112, 138], 36: [6, 24, 50, 76, 102, 128, 154], 40: [6, 30, 58, 86, 114, 142, 170],
};
// Table 7: byte-mode data capacity (characters of 8 bits) by version and level.
const BYTE_CAPACITY = {
  1: { L: 17, M: 14, Q: 11, H: 7 }, 2: { L: 32, M: 26, Q: 20, H: 14 }, 3: { L: 53, M: 42, Q: 32, H: 24 },
  5: { L: 106, M: 84, Q: 60, H: 44 }, 9: { L: 230, M: 180, Q: 130, H: 98 }, 10: { L: 271, M: 213, Q: 151, H: 119 },
  11: { L: 321, M: 251, Q: 177, H: 137 }, 20: { L: 858, M: 666, Q: 482, H: 382 }, 40: { L: 2953, M: 2331, Q: 1663, H: 1273 },
};

const bitsOf = (m, cells) => cells.map(([x, y]) => m[y][x]).join('');

// The two copies of the format information, bit 14 first (figure 25).
function formatCopies(m) {
  const n = m.length;
  const first = [[0, 8], [1, 8], [2, 8], [3, 8], [4, 8], [5, 8], [7, 8], [8, 8], [8, 7], [8, 5], [8, 4], [8, 3], [8, 2], [8, 1], [8, 0]];
  const second = [];
  for (let i = 0; i < 7; i++) second.push([8, n - 1 - i]);
  for (let i = 0; i < 8; i++) second.push([n - 8 + i, 8]);
  return [bitsOf(m, first), bitsOf(m, second)];
}

// The two copies of the version information, bit 17 first (figure 27: bit i sits at row i/3, column n-11+i%3, and mirrored).
function versionCopies(m) {
  const n = m.length;
  const topRight = [];
  const bottomLeft = [];
  for (let i = 17; i >= 0; i--) {
    topRight.push([n - 11 + (i % 3), Math.floor(i / 3)]);
    bottomLeft.push([Math.floor(i / 3), n - 11 + (i % 3)]);
  }
  return [parseInt(bitsOf(m, topRight), 2), parseInt(bitsOf(m, bottomLeft), 2)];
}

function assertFinder(m, left, top, where) {
  for (let dy = -1; dy <= 7; dy++) {
    for (let dx = -1; dx <= 7; dx++) {
      const x = left + dx;
      const y = top + dy;
      if (x < 0 || y < 0 || x >= m.length || y >= m.length) continue;
      const ring = Math.max(Math.abs(dx - 3), Math.abs(dy - 3));
      const want = ring === 2 || ring === 4 ? 0 : 1; // 3x3 core, light ring, dark ring, light separator
      assert.equal(m[y][x], want, `${where} finder/separator module (${x},${y})`);
    }
  }
}

test('capacities follow Table 7: the longest text of each version fits it, one byte more does not', () => {
  for (const [version, byLevel] of Object.entries(BYTE_CAPACITY)) {
    for (const [ecl, cap] of Object.entries(byLevel)) {
      const v = Number(version);
      assert.equal(QR.encode('x'.repeat(cap), { ecl, minVersion: v, maxVersion: v }).version, v, `${cap} bytes fit ${v}-${ecl}`);
      assert.throws(() => QR.encode('x'.repeat(cap + 1), { ecl, minVersion: v, maxVersion: v }), /does not fit a version/, `${cap + 1} bytes overflow ${v}-${ecl}`);
      if (v < 40) assert.equal(QR.encode('x'.repeat(cap + 1), { ecl }).version > v, true);
    }
  }
  assert.equal(QR.encode('x'.repeat(2953), { ecl: 'L' }).version, 40);
  assert.throws(() => QR.encode('x'.repeat(2954), { ecl: 'L' }), /2954 bytes does not fit a version 40-L/);
});

test('Reed-Solomon codewords of known examples (Annex I "01234567" 1-M; "HELLO WORLD" 1-M)', () => {
  const annexI = [0x10, 0x20, 0x0c, 0x56, 0x61, 0x80, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11];
  assert.deepEqual(Array.from(QR.reedSolomon(annexI, 10)), [0xa5, 0x24, 0xd4, 0xc1, 0xed, 0x36, 0xc7, 0x87, 0x2c, 0x55]);
  const hello = [32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17];
  assert.deepEqual(Array.from(QR.reedSolomon(hello, 10)), [196, 35, 39, 119, 235, 215, 231, 226, 93, 23]);
});

test('function patterns: finders, separators, timing, alignment centres (Table E.1), dark module', () => {
  for (let version = 1; version <= 40; version++) {
    const cap = BYTE_CAPACITY[version]?.M ?? 1;
    const qr = QR.encode('y'.repeat(cap), { ecl: 'M', minVersion: version, maxVersion: version });
    const m = qr.modules;
    const n = 4 * version + 17;
    assert.equal(qr.size, n);
    assert.equal(m.length, n);
    assertFinder(m, 0, 0, 'top-left');
    assertFinder(m, n - 7, 0, 'top-right');
    assertFinder(m, 0, n - 7, 'bottom-left');
    for (let i = 8; i < n - 8; i++) {
      assert.equal(m[6][i], i % 2 === 0 ? 1 : 0, `horizontal timing at ${i}`);
      assert.equal(m[i][6], i % 2 === 0 ? 1 : 0, `vertical timing at ${i}`);
    }
    assert.equal(m[4 * version + 9][8], 1, 'the dark module at (8, 4V+9)');
    const centres = ALIGNMENT[version];
    if (!centres) continue;
    for (const cy of centres) {
      for (const cx of centres) {
        const onFinder = (cx === 6 && cy === 6) || (cx === 6 && cy === n - 7) || (cx === n - 7 && cy === 6);
        if (onFinder) continue;
        for (let dy = -2; dy <= 2; dy++) {
          for (let dx = -2; dx <= 2; dx++) {
            const want = Math.max(Math.abs(dx), Math.abs(dy)) === 1 ? 0 : 1;
            assert.equal(m[cy + dy][cx + dx], want, `version ${version} alignment pattern at (${cx},${cy}) module (${dx},${dy})`);
          }
        }
      }
    }
  }
});

test('format information matches Table C.1 in both copies, for every level and mask', () => {
  for (const ecl of LEVELS) {
    for (let mask = 0; mask < 8; mask++) {
      const qr = QR.encode('format ' + ecl + mask, { ecl, mask });
      assert.equal(qr.mask, mask);
      const [a, b] = formatCopies(qr.modules);
      assert.equal(a, FORMAT[ecl][mask], `${ecl} mask ${mask}, copy around the top-left finder`);
      assert.equal(b, FORMAT[ecl][mask], `${ecl} mask ${mask}, copy split bottom-left / top-right`);
    }
  }
  // Without a forced mask the encoder still writes the format of the mask it chose.
  const auto = QR.encode('weixin://wxpay/bizpayurl?pr=AbCdEfG');
  assert.deepEqual(formatCopies(auto.modules), [FORMAT.M[auto.mask], FORMAT.M[auto.mask]]);
});

test('version information matches Table D.1 in both blocks (versions 7 and up)', () => {
  for (const [version, bits] of Object.entries(VERSION_INFO)) {
    const v = Number(version);
    const qr = QR.encode('v', { ecl: 'L', minVersion: v, maxVersion: v });
    assert.equal(qr.version, v);
    assert.deepEqual(versionCopies(qr.modules), [bits, bits], `version ${v}`);
  }
});

test('bad options are refused with the rule', () => {
  assert.throws(() => QR.encode('x', { ecl: 'X' }), /ecl must be L, M, Q or H/);
  assert.throws(() => QR.encode('x', { mask: 8 }), /mask must be 0-7/);
  assert.throws(() => QR.encode('x', { minVersion: 5, maxVersion: 4 }), /1 <= minVersion <= maxVersion <= 40/);
});

test('zbarimg reads back every version and level, every mask, UTF-8 and code_url-like texts', { skip: noZbar }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pay-common-qr-'));
  const cases = [];
  for (const ecl of LEVELS) {
    for (let version = 1; version <= 40; version++) {
      // The longest text of this version (data codewords less the mode and count bytes), so
      // `version` is the smallest that holds it.
      const len = QR.dataCapacity(version, ecl) - (version < 10 ? 2 : 3);
      const text = `${ecl}${version}:`.padEnd(len, 'abcdefghijklmnopqrstuvwxyz0123456789');
      cases.push({ text, ecl, version });
    }
  }
  for (let mask = 0; mask < 8; mask++) cases.push({ text: 'forced mask ' + mask + ' over a few more bytes', ecl: 'M', mask });
  cases.push({ text: '微信支付 Native 订单 ¥0.20 ✓', ecl: 'M' });
  for (const n of [1, 8, 30, 60, 120, 250]) {
    cases.push({ text: 'weixin://wxpay/bizpayurl?pr=' + 'Ab3dE'.repeat(n).slice(0, n), ecl: 'M' });
  }
  const files = cases.map((c, i) => {
    const qr = QR.encode(c.text, { ecl: c.ecl, mask: c.mask });
    if (c.version) assert.equal(qr.version, c.version, c.text);
    const file = join(dir, `case-${i}.png`);
    writeFileSync(file, matrixPng(qr.modules, { scale: 3 }));
    return file;
  });
  const decoded = zbarDecode(files);
  cases.forEach((c, i) => assert.deepEqual(decoded[i], [c.text], `case ${i} (${c.ecl}${c.version ? ' version ' + c.version : ''}${c.mask !== undefined ? ' mask ' + c.mask : ''})`));
});

test('the SVG output, rendered by Chromium, decodes to the same texts', { skip: noZbar || (CHROMIUM ? false : 'SKIPPED: chromium not found') }, () => {
  const texts = [
    'weixin://wxpay/bizpayurl?pr=Xy12345',
    'weixin://wxpay/bizpayurl?pr=' + 'Q'.repeat(90),
    'https://example.com/pay?out_trade_no=WEB1700000000000&amount=20&' + 'k=v&'.repeat(40),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'pay-common-qr-svg-'));
  const html = join(dir, 'svg.html');
  writeFileSync(html, '<!doctype html><body style="margin:0;background:#fff">' +
    texts.map((t) => '<div style="margin:40px">' + QR.toSvg(QR.encode(t), { scale: 4 }) + '</div>').join('') + '</body>');
  const shots = join(ROOT, 'target', 'screenshots');
  mkdirSync(shots, { recursive: true });
  const png = join(shots, 'qr-svg.png');
  const profile = mkdtempSync(join(tmpdir(), 'pay-common-chromium-'));
  execFileSync(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--user-data-dir=' + profile,
    '--window-size=700,2200', '--screenshot=' + png, 'file://' + html], { timeout: 60_000, stdio: 'ignore' });
  const [found] = zbarDecode([png]);
  assert.deepEqual([...found].sort(), [...texts].sort());
});
