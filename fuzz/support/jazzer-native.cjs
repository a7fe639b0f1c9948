// Loads Jazzer.js's native fuzzer (libFuzzer) on Linux systems older than the one its prebuilt
// binary was linked on. Preloaded by fuzz/run.mjs (node --require); does nothing where the
// prebuilt loads as it is.
//
// @jazzer.js/fuzzer 4.x ships only prebuilt binaries. The linux-x64 one asks for three symbol
// versions that Debian 12 (glibc 2.36, GCC 12's libstdc++) lacks:
//   __isoc23_strtol, __isoc23_strtoul @ GLIBC_2.38 — C23 strtol/strtoul, which differ from the
//     classic ones only in also accepting a "0b" prefix (libFuzzer parses decimal flags with them);
//   std::ios_base_library_init() @ GLIBCXX_3.4.32 — referenced only to pull in GCC 13's iostream
//     initialisation, never called (no relocation uses it).
// The copy made here (node_modules/.cache/annoy-ts-fuzz/) binds the two C23 functions to the
// classic strtol/strtoul@GLIBC_2.2.5 and marks the two missing version needs as weak, so the
// dynamic loader accepts the file. The original file is left untouched.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');

const TARGET = /[\\/]@jazzer\.js[\\/]fuzzer[\\/]prebuilds[\\/]fuzzer-linux-x64\.node$/;
const VER_FLG_WEAK = 2;
const SHT_DYNSYM = 11, SHT_GNU_VERSYM = 0x6fffffff, SHT_GNU_VERNEED = 0x6ffffffe;

function cstr(buf, at) {
  let end = at;
  while (buf[end] !== 0) end++;
  return buf.toString('latin1', at, end);
}

/** Returns a patched copy of the ELF64 little-endian shared object `bytes`, or throws. */
function patch(bytes) {
  const b = Buffer.from(bytes);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) throw new Error('not an ELF64 little-endian file');
  const shoff = Number(b.readBigUInt64LE(0x28)), shentsize = b.readUInt16LE(0x3a), shnum = b.readUInt16LE(0x3c);
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    sections.push({
      type: b.readUInt32LE(at + 4), offset: Number(b.readBigUInt64LE(at + 0x18)), size: Number(b.readBigUInt64LE(at + 0x20)),
      link: b.readUInt32LE(at + 0x28), entsize: Number(b.readBigUInt64LE(at + 0x38)),
    });
  }
  const dynsym = sections.find((s) => s.type === SHT_DYNSYM);
  const versym = sections.find((s) => s.type === SHT_GNU_VERSYM);
  const verneed = sections.find((s) => s.type === SHT_GNU_VERNEED);
  if (!dynsym || !versym || !verneed) throw new Error('no .dynsym / .gnu.version / .gnu.version_r section');
  const dynstr = sections[dynsym.link];
  const vstr = sections[verneed.link];

  // Version needs: find the index of GLIBC_2.2.5 in libc.so.6, mark the missing ones weak.
  const missing = new Set(['GLIBC_2.38', 'GLIBCXX_3.4.32']);
  let classic = -1;
  for (let at = verneed.offset; ;) {
    const file = cstr(b, vstr.offset + b.readUInt32LE(at + 4));
    const cnt = b.readUInt16LE(at + 2);
    for (let aux = at + b.readUInt32LE(at + 8), k = 0; k < cnt; k++) {
      const name = cstr(b, vstr.offset + b.readUInt32LE(aux + 8));
      if (missing.has(name)) b.writeUInt16LE(b.readUInt16LE(aux + 4) | VER_FLG_WEAK, aux + 4);
      if (file === 'libc.so.6' && name === 'GLIBC_2.2.5') classic = b.readUInt16LE(aux + 6);
      const next = b.readUInt32LE(aux + 12);
      if (next === 0) break;
      aux += next;
    }
    const next = b.readUInt32LE(at + 12);
    if (next === 0) break;
    at += next;
  }
  if (classic < 0) throw new Error('no libc.so.6 GLIBC_2.2.5 version need to bind strtol to');

  // __isoc23_strtol → strtol (the name minus its 9-character prefix), version GLIBC_2.2.5.
  const n = dynsym.size / dynsym.entsize;
  let renamed = 0;
  for (let i = 0; i < n; i++) {
    const at = dynsym.offset + i * dynsym.entsize;
    const nameAt = b.readUInt32LE(at);
    const name = cstr(b, dynstr.offset + nameAt);
    if (name === '__isoc23_strtol' || name === '__isoc23_strtoul') {
      b.writeUInt32LE(nameAt + '__isoc23_'.length, at);
      b.writeUInt16LE(classic, versym.offset + 2 * i);
      renamed++;
    }
  }
  void renamed;
  return b;
}

function patchedCopy(original) {
  const bytes = fs.readFileSync(original);
  const hash = crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const dir = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'annoy-ts-fuzz');
  const out = path.join(dir, `fuzzer-linux-x64.${hash}.node`);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(dir, { recursive: true });
    const temp = `${out}.${process.pid}.tmp`;
    fs.writeFileSync(temp, patch(bytes));
    fs.renameSync(temp, out);
  }
  return out;
}

const dlopen = process.dlopen;
process.dlopen = function (module, filename, ...rest) {
  if (typeof filename === 'string' && TARGET.test(filename)) {
    try {
      return dlopen.call(this, module, filename, ...rest);
    } catch (e) {
      if (!/GLIBC_2\.38|GLIBCXX_3\.4\.32/.test(String(e && e.message))) throw e;
      return dlopen.call(this, module, patchedCopy(filename), ...rest);
    }
  }
  return dlopen.call(this, module, filename, ...rest);
};

module.exports = { patch };
