#!/usr/bin/env node
// Compiles the memtable scan (packages/collection/assembly/scan.ts) with AssemblyScript and embeds
// the WebAssembly binary as base64 in src/core/scan-wasm.ts (tools/embed-wasm.mjs: no .wasm file to
// ship or fetch). `--check` fails when the embedded binary is stale.
// Run: node packages/collection/tools/build-wasm.mjs
import { fileURLToPath } from 'node:url';
import { embedWasm } from '../../../tools/embed-wasm.mjs';

embedWasm({
  tool: import.meta.url,
  source: fileURLToPath(new URL('../assembly/scan.ts', import.meta.url)),
  target: fileURLToPath(new URL('../src/core/scan-wasm.ts', import.meta.url)),
  constName: 'SCAN_WASM_BASE64',
  sharedMemory: false,
  check: process.argv.includes('--check'),
  rebuild: 'node packages/collection/tools/build-wasm.mjs',
});
