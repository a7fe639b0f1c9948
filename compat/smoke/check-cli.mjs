// Checks what the installed command line printed (JSON) against real Annoy's golden fixture:
//   node check-cli.mjs query OUTPUT.jsonl query-k10.json   `query --file queries.fbin --json` = Annoy's answers
//   node check-cli.mjs info OUTPUT.json info.json          `info --json` = Annoy's f, metric, counts, record size
//   node check-cli.mjs eval OUTPUT.json                     `eval --search-k -1,all --json`: exact search has recall 1
//   node check-cli.mjs graph INFO.json EVAL.json            of an index built with --graph: `info --json` says the graph
//                                                           belongs; `eval --search-k -1 --json` has a graph and a trees row
import { readFileSync } from 'node:fs';
import { sameAnswer } from './core.mjs';

const [mode, output, expectedFile] = process.argv.slice(2);
const text = readFileSync(output, 'utf8');
const bad = [];

if (mode === 'query') {
  const got = text.trim().split('\n').map((line) => JSON.parse(line));
  const expected = JSON.parse(readFileSync(expectedFile, 'utf8')).results;
  expected.forEach((e, j) => {
    if (!got[j] || !sameAnswer(got[j], e)) bad.push(`query ${j}: got ${JSON.stringify(got[j])}, real Annoy gave ${JSON.stringify(e)}`);
  });
  if (got.length !== expected.length) bad.push(`${got.length} answers for ${expected.length} queries`);
} else if (mode === 'info') {
  const got = JSON.parse(text);
  const annoy = JSON.parse(readFileSync(expectedFile, 'utf8'));
  const want = { f: annoy.f, metric: annoy.metric, nItems: annoy.n_items, nTrees: annoy.n_trees, nNodes: annoy.n_nodes, recordBytes: annoy.node_size };
  for (const [key, value] of Object.entries(want)) if (got[key] !== value) bad.push(`info: ${key} is ${JSON.stringify(got[key])}, real Annoy says ${JSON.stringify(value)}`);
  if (got.sidecar?.verified !== true) bad.push(`info: the sidecar is not reported as verified: ${JSON.stringify(got.sidecar)}`);
} else if (mode === 'eval') {
  const got = JSON.parse(text);
  const [byDefault, exact] = got.results ?? [];
  if (byDefault?.searchK !== -1 || !(byDefault.recall > 0 && byDefault.recall <= 1)) bad.push(`eval: search_k -1 gave ${JSON.stringify(byDefault)}`);
  if (exact?.searchK !== 'all' || exact.recall !== 1) bad.push(`eval: exact search must have recall 1, got ${JSON.stringify(exact)}`);
  if (!(got.queries > 0)) bad.push(`eval: ${got.queries} queries`);
} else if (mode === 'graph') {
  const info = JSON.parse(text);
  if (info.graph?.belongs !== true || !(info.graph.edges > 0) || !(info.graph.maxDegree > 0)) bad.push(`info: the graph is not reported as attached: ${JSON.stringify(info.graph)}`);
  const evaluated = JSON.parse(readFileSync(expectedFile, 'utf8'));
  const [graph, trees] = evaluated.results ?? [];
  if (evaluated.graph !== true || graph?.method !== 'graph' || trees?.method !== 'trees') bad.push(`eval: expected a graph and a trees row, got ${JSON.stringify(evaluated.results)}`);
  else if (!(graph.recall >= 0.9)) bad.push(`eval: recall@10 through the graph at search_k -1 is ${graph.recall}, expected ≥ 0.9`);
} else {
  bad.push(`unknown mode ${mode} (query, info, eval or graph)`);
}
for (const line of bad.slice(0, 5)) console.log(`  ✗ CLI ${line}`);
process.exitCode = bad.length === 0 ? 0 : 1;
