#!/usr/bin/env node
// Compiles the neighbour graph's AssemblyScript kernels (packages/annoy-ts/src/graph/assembly/graph.ts)
// and embeds the WebAssembly binary as base64 in packages/annoy-ts/src/graph/wasm-binary.ts
// (tools/embed-wasm.mjs), so the library needs no .wasm file at run time. `--check` fails when the
// embedded binary is stale.
// Like the forest kernels (tools/build-wasm.mjs), the module imports the index's *shared* memory;
// where shared memory is unavailable the library flips that import's flag before compiling it.
import { fileURLToPath } from 'node:url';
import { embedWasm } from './embed-wasm.mjs';

embedWasm({
  tool: import.meta.url,
  source: fileURLToPath(new URL('../packages/annoy-ts/src/graph/assembly/graph.ts', import.meta.url)),
  target: fileURLToPath(new URL('../packages/annoy-ts/src/graph/wasm-binary.ts', import.meta.url)),
  constName: 'GRAPH_WASM_BASE64',
  sharedMemory: true,
  check: process.argv.includes('--check'),
  rebuild: 'node tools/build-graph-wasm.mjs',
});
