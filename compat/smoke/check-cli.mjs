// Compares the JSON Lines of `annoy-ts query --file queries.fbin --json` with a golden fixture's
// query-k10.json (real Annoy's answers): node check-cli.mjs OUTPUT.jsonl query-k10.json
import { readFileSync } from 'node:fs';

const [output, expectedFile] = process.argv.slice(2);
const got = readFileSync(output, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
const expected = JSON.parse(readFileSync(expectedFile, 'utf8')).results;
const bad = expected.flatMap((e, j) => {
  const g = got[j];
  const same = g && g.ids.length === e.ids.length && g.ids.every((id, k) => id === e.ids[k]) &&
    g.distances.every((d, k) => Math.fround(d) === Math.fround(e.distances[k]));
  return same ? [] : [`query ${j}: got ${JSON.stringify(g)}, real Annoy gave ${JSON.stringify(e)}`];
});
if (got.length !== expected.length) bad.push(`${got.length} answers for ${expected.length} queries`);
for (const line of bad.slice(0, 5)) console.log(`  ✗ ${line}`);
process.exitCode = bad.length === 0 ? 0 : 1;
