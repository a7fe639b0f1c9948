// Compares every runtime's smoke answers with the reference runtime's (Node 20):
//   node compat/compare.mjs RESULTS_DIR node20
// RESULTS_DIR holds one JSON per runtime (compat/smoke/smoke.mjs, compat/browser/bundle.mjs). The
// answers — query ids and distances, item vectors' distances, index bytes' hashes, the golden
// fixtures' answers — must be identical, not merely close: annoy-ts computes in float32 exactly
// like Annoy, so a runtime that rounds differently is a bug. Prints a table; exits 1 on a difference.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, reference] = process.argv.slice(2);
const load = (name) => JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
const names = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
if (!names.includes(reference)) {
  console.log(`  ✗ no results from the reference runtime ${reference}`);
  process.exit(1);
}
const ref = load(reference);
const order = ['node20', 'node22', 'node24', 'node26', 'bun', 'deno', 'browser'];
names.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));

/** The first path at which two JSON values differ, or null. */
function firstDifference(a, b, path = '') {
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null)) return path || '(root)';
  if (typeof a !== 'object' || a === null) return Object.is(a, b) ? null : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    if (!(key in a) || !(key in b)) return `${path}.${key} (missing on one side)`;
    const d = firstDifference(a[key], b[key], `${path}.${key}`);
    if (d) return d;
  }
  return null;
}

let bad = 0;
const rows = [['runtime', 'entry', 'checks', 'own result', `answers vs ${ref.runtime}`]];
for (const name of names) {
  const r = load(name);
  const own = r.failures.length === 0 ? 'ok' : `${r.failures.length} failed`;
  let same = '(reference)';
  if (name !== reference) {
    const parts = r.answers ? Object.keys(r.answers) : [];   // the browser has no io/parallel parts
    const diffs = r.answers ? parts.map((p) => firstDifference(r.answers[p], ref.answers[p], p)).filter(Boolean) : ['no answers'];
    same = diffs.length === 0 ? `identical (${parts.join(', ')})` : `DIFFERENT: ${diffs[0]}`;
    if (diffs.length > 0) bad++;
  }
  rows.push([r.runtime, r.entry, String(r.checks), own, same]);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
for (const row of rows) console.log(`  ${row.map((cell, c) => cell.padEnd(widths[c])).join('  ')}`.trimEnd());
process.exitCode = bad === 0 ? 0 : 1;
