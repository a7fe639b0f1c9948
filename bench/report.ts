/**
 * Redraws the markdown table and the SVG plots from a result file, without
 * measuring anything:
 *
 *   npx tsx bench/report.ts [bench/results/latest.jsonl] [--out PREFIX]
 *
 * PREFIX defaults to the file's name without .jsonl (latest → latest.md,
 * latest-<dataset>.svg), written next to it.
 */
import path from 'node:path';
import { readRecords, writeReports } from './lib/report.ts';
import { RESULTS_DIR } from './lib/paths.ts';

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? args[outAt + 1] : undefined;
const file = args.find((a, i) => !a.startsWith('--') && (outAt < 0 || i !== outAt + 1)) ?? path.join(RESULTS_DIR, 'latest.jsonl');
const prefix = out ?? path.basename(file).replace(/\.jsonl$/, '');
const written = await writeReports(readRecords(file), prefix, path.dirname(path.resolve(file)));
process.stdout.write(`${[written.markdown, ...written.svgs].map((f) => path.relative(process.cwd(), f)).join('\n')}\n`);
