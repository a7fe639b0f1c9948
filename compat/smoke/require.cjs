// CommonJS consumers: annoy-ts is ESM-only, but runtimes with require(esm) (Node ≥ 20.19 / 22.12,
// Bun, Deno) load it with require() — this checks they get the Node entry and working kernels.
const { AnnoyIndex, crc32 } = require('annoy-ts');

const index = new AnnoyIndex(2, 'euclidean');
index.addItem(0, [0, 0]);
index.addItem(1, [3, 4]);
index.addItem(2, [1, 1]);
index.build(5);
const got = JSON.stringify(index.getNnsByItem(0, 3, -1, true));
const expected = JSON.stringify({ ids: [0, 2, 1], distances: [0, Math.fround(Math.SQRT2), 5] });
if (typeof crc32 !== 'function' || got !== expected) {
  console.log(`require('annoy-ts'): got ${got} (crc32: ${typeof crc32}), expected ${expected}`);
  process.exitCode = 1;
} else {
  console.log("require('annoy-ts'): ok");
}
