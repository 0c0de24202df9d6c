// A small QR Code encoder (ISO/IEC 18004), plain JavaScript, no build, no dependencies.
// Byte mode (the text is sent as UTF-8), error correction levels L, M, Q, H, versions 1-40,
// automatic mask selection by the standard's penalty rules. Drawn to a <canvas> or as SVG text.
//
//   const qr = PayQR.encode('weixin://wxpay/bizpayurl?pr=abc', { ecl: 'M' });
//   PayQR.drawCanvas(qr, document.getElementById('qr'), { scale: 6 });
//   element.innerHTML = PayQR.toSvg(qr);
//
// The section numbers in the comments are those of ISO/IEC 18004:2015.
(function (root) {
  'use strict';

  // Table 9: error correction codewords per block and number of blocks, by level, index = version.
  const ECC_PER_BLOCK = {
    L: [0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
    M: [0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
    Q: [0, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
    H: [0, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  };
  const BLOCKS = {
    L: [0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
    M: [0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
    Q: [0, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68],
    H: [0, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81],
  };
  // 7.9.1, Table 12: the two format-information bits of each level.
  const LEVEL_BITS = { L: 1, M: 0, Q: 3, H: 2 };

  // Modules available for data and error correction codewords (7.1, Table 1), remainder bits included.
  function rawDataModules(version) {
    const size = version * 4 + 17;
    // Three finders with their separators (8 x 8 each), the two timing patterns, 2 x 15 format bits
    // and the dark module.
    let n = size * size - 3 * 64 - 2 * (size - 16) - 31;
    const align = alignmentPositions(version).length;
    if (align > 0) n -= (align * align - 3) * 25 - 2 * (align - 2) * 5; // alignment patterns, minus their overlap with timing
    if (version >= 7) n -= 36; // 2 x 18 version bits
    return n;
  }

  // Annex E: centre coordinates of the alignment patterns (rows and columns alike).
  function alignmentPositions(version) {
    if (version === 1) return [];
    const count = Math.floor(version / 7) + 2;
    const last = version * 4 + 10;
    const step = version === 32 ? 26 : Math.ceil((last - 6) / (count - 1) / 2) * 2;
    const out = [6];
    for (let i = count - 2; i >= 0; i--) out.push(last - i * step);
    return out;
  }

  // --- Reed-Solomon over GF(256) with the primitive polynomial x^8+x^4+x^3+x^2+1 (7.5.2) ---
  const EXP = new Uint8Array(512);
  const LOG = new Uint8Array(256);
  for (let i = 0, x = 1; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
  const mul = (a, b) => (a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]]);

  // The generator polynomial (x - a^0)(x - a^1)...(x - a^(n-1)), coefficients without the leading 1.
  function generator(n) {
    let g = [1];
    for (let i = 0; i < n; i++) {
      const next = new Array(g.length + 1).fill(0);
      for (let j = 0; j < g.length; j++) {
        next[j] ^= g[j];
        next[j + 1] ^= mul(g[j], EXP[i]);
      }
      g = next;
    }
    return g.slice(1);
  }

  // The n error correction codewords of `data` (the remainder of data(x)·x^n divided by g(x)).
  function reedSolomon(data, n) {
    const g = generator(n);
    const rem = new Array(n).fill(0);
    for (const byte of data) {
      const factor = byte ^ rem.shift();
      rem.push(0);
      for (let i = 0; i < n; i++) rem[i] ^= mul(g[i], factor);
    }
    return rem;
  }

  // --- BCH codes of the format (7.9) and version (7.10) information ---
  function formatBits(ecl, mask) {
    const data = (LEVEL_BITS[ecl] << 3) | mask;
    let rem = data;
    for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
    return ((data << 10) | rem) ^ 0x5412;
  }

  function versionBits(version) {
    let rem = version;
    for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
    return (version << 12) | rem;
  }

  // --- data encoding (7.4): one byte-mode segment, terminator, padding ---
  function utf8(text) {
    return new TextEncoder().encode(String(text));
  }

  function dataCapacity(version, ecl) {
    return Math.floor(rawDataModules(version) / 8) - ECC_PER_BLOCK[ecl][version] * BLOCKS[ecl][version];
  }

  function dataCodewords(bytes, version, ecl) {
    const bits = [];
    const put = (value, len) => { for (let i = len - 1; i >= 0; i--) bits.push((value >>> i) & 1); };
    put(0b0100, 4); // byte mode
    put(bytes.length, version < 10 ? 8 : 16); // character count indicator (Table 3)
    for (const b of bytes) put(b, 8);
    const capacity = dataCapacity(version, ecl) * 8;
    put(0, Math.min(4, capacity - bits.length)); // terminator
    put(0, (8 - (bits.length % 8)) % 8);
    const out = [];
    for (let i = 0; i < bits.length; i += 8) out.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
    for (let pad = 0xec; out.length < capacity / 8; pad ^= 0xec ^ 0x11) out.push(pad);
    return out;
  }

  // 7.5.2 / 7.6: split into blocks, add error correction, interleave.
  function finalCodewords(data, version, ecl) {
    const blocks = BLOCKS[ecl][version];
    const eccLen = ECC_PER_BLOCK[ecl][version];
    const raw = Math.floor(rawDataModules(version) / 8);
    const shortBlocks = blocks - (raw % blocks);
    const shortData = Math.floor(raw / blocks) - eccLen;
    const dataBlocks = [];
    const eccBlocks = [];
    for (let i = 0, k = 0; i < blocks; i++) {
      const len = shortData + (i < shortBlocks ? 0 : 1);
      const block = data.slice(k, k + len);
      k += len;
      dataBlocks.push(block);
      eccBlocks.push(reedSolomon(block, eccLen));
    }
    const out = [];
    for (let i = 0; i <= shortData; i++) for (const b of dataBlocks) if (i < b.length) out.push(b[i]);
    for (let i = 0; i < eccLen; i++) for (const b of eccBlocks) out.push(b[i]);
    return out;
  }

  // --- the symbol (6.3, 7.7) ---
  function grid(size) {
    return Array.from({ length: size }, () => new Uint8Array(size));
  }

  function functionPatterns(version) {
    const size = version * 4 + 17;
    const m = grid(size);
    const fn = grid(size);
    const set = (x, y, dark) => { m[y][x] = dark ? 1 : 0; fn[y][x] = 1; };
    for (let i = 0; i < size; i++) { set(6, i, i % 2 === 0); set(i, 6, i % 2 === 0); } // timing
    for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]]) { // finders with separators
      for (let dy = -4; dy <= 4; dy++) {
        for (let dx = -4; dx <= 4; dx++) {
          const x = cx + dx;
          const y = cy + dy;
          const d = Math.max(Math.abs(dx), Math.abs(dy));
          if (x >= 0 && x < size && y >= 0 && y < size) set(x, y, d !== 2 && d !== 4);
        }
      }
    }
    const pos = alignmentPositions(version);
    const last = pos.length - 1;
    for (let i = 0; i <= last; i++) {
      for (let j = 0; j <= last; j++) {
        if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) continue; // finder corners
        for (let dy = -2; dy <= 2; dy++) {
          for (let dx = -2; dx <= 2; dx++) set(pos[i] + dx, pos[j] + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
        }
      }
    }
    placeFormat(m, fn, 0); // reserve (overwritten once the mask is chosen)
    if (version >= 7) {
      const bits = versionBits(version);
      for (let i = 0; i < 18; i++) {
        const dark = (bits >>> i) & 1;
        const a = size - 11 + (i % 3);
        const b = Math.floor(i / 3);
        set(a, b, dark); // top right, 3 wide x 6 tall
        set(b, a, dark); // bottom left, 6 wide x 3 tall
      }
    }
    return { size, m, fn };
  }

  // 7.9.1: the 15 format bits, bit 14 first, twice; plus the dark module at (8, 4V+9).
  function placeFormat(m, fn, bits) {
    const size = m.length;
    const set = (x, y, dark) => { m[y][x] = dark ? 1 : 0; fn[y][x] = 1; };
    const bit = (i) => (bits >>> i) & 1;
    for (let i = 0; i <= 5; i++) set(8, i, bit(i));
    set(8, 7, bit(6));
    set(8, 8, bit(7));
    set(7, 8, bit(8));
    for (let i = 9; i < 15; i++) set(14 - i, 8, bit(i));
    for (let i = 0; i < 8; i++) set(size - 1 - i, 8, bit(i));
    for (let i = 8; i < 15; i++) set(8, size - 15 + i, bit(i));
    set(8, size - 8, 1);
  }

  // 7.7.3: two-module columns from the right, upwards then downwards, skipping the timing column.
  function placeData(m, fn, codewords) {
    const size = m.length;
    let i = 0;
    for (let right = size - 1; right >= 1; right -= 2) {
      if (right === 6) right = 5;
      const upward = ((right + 1) & 2) === 0;
      for (let v = 0; v < size; v++) {
        const y = upward ? size - 1 - v : v;
        for (let j = 0; j < 2; j++) {
          const x = right - j;
          if (fn[y][x]) continue;
          if (i < codewords.length * 8) m[y][x] = (codewords[i >>> 3] >>> (7 - (i & 7))) & 1;
          i++;
        }
      }
    }
  }

  // 7.8.2, Table 10: the eight data mask patterns; i is the row, j the column.
  const MASKS = [
    (i, j) => (i + j) % 2 === 0,
    (i) => i % 2 === 0,
    (i, j) => j % 3 === 0,
    (i, j) => (i + j) % 3 === 0,
    (i, j) => (Math.floor(i / 2) + Math.floor(j / 3)) % 2 === 0,
    (i, j) => ((i * j) % 2) + ((i * j) % 3) === 0,
    (i, j) => (((i * j) % 2) + ((i * j) % 3)) % 2 === 0,
    (i, j) => (((i + j) % 2) + ((i * j) % 3)) % 2 === 0,
  ];

  function applyMask(m, fn, mask) {
    const f = MASKS[mask];
    for (let y = 0; y < m.length; y++) for (let x = 0; x < m.length; x++) if (!fn[y][x] && f(y, x)) m[y][x] ^= 1;
  }

  // 7.8.3, Table 11: N1 = 3, N2 = 3, N3 = 40, N4 = 10.
  const FINDER_LIKE = [[1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1]];
  function penalty(m) {
    const size = m.length;
    let score = 0;
    let dark = 0;
    const lines = [];
    for (let a = 0; a < size; a++) {
      lines.push(Array.from(m[a]));
      lines.push(m.map((row) => row[a]));
    }
    for (const line of lines) {
      for (let i = 0; i < size;) { // adjacent modules of one colour in a row or column
        let j = i;
        while (j < size && line[j] === line[i]) j++;
        if (j - i >= 5) score += 3 + (j - i - 5);
        i = j;
      }
      for (let i = 0; i + 11 <= size; i++) { // 1:1:3:1:1 next to four light modules
        for (const p of FINDER_LIKE) if (p.every((v, k) => line[i + k] === v)) score += 40;
      }
    }
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        dark += m[y][x];
        if (x < size - 1 && y < size - 1) {
          const c = m[y][x];
          if (m[y][x + 1] === c && m[y + 1][x] === c && m[y + 1][x + 1] === c) score += 3; // 2x2 blocks
        }
      }
    }
    score += Math.floor(Math.abs(dark * 20 - size * size * 10) / (size * size)) * 10; // each 5% from 50% dark
    return score;
  }

  // Encodes `text` (UTF-8, byte mode) at the smallest version that holds it.
  // Options: ecl 'L'|'M'|'Q'|'H' (default 'M'), minVersion, maxVersion (1-40), mask (0-7; default: lowest penalty).
  // Answers { version, ecl, mask, size, modules } where modules[y][x] is 1 for a dark module.
  function encode(text, options) {
    const o = options || {};
    const ecl = o.ecl || 'M';
    if (!(ecl in BLOCKS)) throw new Error('ecl must be L, M, Q or H, not ' + ecl);
    const minVersion = o.minVersion || 1;
    const maxVersion = o.maxVersion || 40;
    if (!(minVersion >= 1 && maxVersion <= 40 && minVersion <= maxVersion)) throw new Error('versions must satisfy 1 <= minVersion <= maxVersion <= 40');
    if (o.mask !== undefined && !(Number.isInteger(o.mask) && o.mask >= 0 && o.mask <= 7)) throw new Error('mask must be 0-7');
    const bytes = utf8(text);
    let version = minVersion;
    const needed = (v) => 4 + (v < 10 ? 8 : 16) + bytes.length * 8;
    while (version <= maxVersion && needed(version) > dataCapacity(version, ecl) * 8) version++;
    if (version > maxVersion) throw new Error('text of ' + bytes.length + ' bytes does not fit a version ' + maxVersion + '-' + ecl + ' QR code');
    const codewords = finalCodewords(dataCodewords(bytes, version, ecl), version, ecl);
    const { size, m, fn } = functionPatterns(version);
    placeData(m, fn, codewords);
    let best = null;
    for (let mask = 0; mask < 8; mask++) {
      if (o.mask !== undefined && mask !== o.mask) continue;
      const trial = m.map((row) => row.slice());
      applyMask(trial, fn, mask);
      placeFormat(trial, fn, formatBits(ecl, mask));
      const score = o.mask !== undefined ? 0 : penalty(trial);
      if (!best || score < best.score) best = { mask, score, modules: trial };
    }
    return { version, ecl, mask: best.mask, size, modules: best.modules };
  }

  // SVG text: one path of unit squares in a viewBox with a light quiet zone of `border` modules (default 4).
  function toSvg(qr, options) {
    const o = options || {};
    const border = o.border === undefined ? 4 : o.border;
    const scale = o.scale || 4;
    const full = qr.size + border * 2;
    let d = '';
    for (let y = 0; y < qr.size; y++) for (let x = 0; x < qr.size; x++) if (qr.modules[y][x]) d += 'M' + (x + border) + ',' + (y + border) + 'h1v1h-1z';
    return '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="' + full * scale + '" height="' + full * scale +
      '" viewBox="0 0 ' + full + ' ' + full + '" shape-rendering="crispEdges">' +
      '<rect width="' + full + '" height="' + full + '" fill="#fff"/><path d="' + d + '" fill="#000"/></svg>';
  }

  // Draws on a canvas: `scale` pixels per module (default 6), a quiet zone of `border` modules (default 4).
  function drawCanvas(qr, canvas, options) {
    const o = options || {};
    const border = o.border === undefined ? 4 : o.border;
    const scale = o.scale || 6;
    canvas.width = canvas.height = (qr.size + border * 2) * scale;
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = '#000';
    for (let y = 0; y < qr.size; y++) for (let x = 0; x < qr.size; x++) if (qr.modules[y][x]) ctx.fillRect((x + border) * scale, (y + border) * scale, scale, scale);
    return canvas;
  }

  root.PayQR = { encode, toSvg, drawCanvas, reedSolomon, dataCapacity };
})(typeof window !== 'undefined' ? window : globalThis);
