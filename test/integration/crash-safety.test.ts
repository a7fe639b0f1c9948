// Crash safety of save(): a child process saves over an existing index (with its sidecar) in a
// tight loop, alternating between two different indexes, and is killed with SIGKILL at a random
// moment — many times. After every kill the path must hold one of the two indexes complete, byte
// for byte, never a torn or mixed file; the sidecar, when there is one, must describe exactly the
// bytes beside it (AnnoyIndex.open() then works); without one, the index still loads with f and
// metric. The only debris a kill may leave is a temporary `.….tmp` file beside the index.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AnnoyIndex, crc32, parseSidecar } from '../../packages/annoy-ts/src/node/index.ts';
import { killAfterReady } from '../helpers/kill.ts';

const F = 16;
const METRIC = 'angular';
/** Parallel lanes (each its own folder and child) × kills per lane (CRASH_KILLS=100 for a longer run). */
const LANES = 2;
const KILLS_PER_LANE = Number(process.env.CRASH_KILLS ?? 12);

const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'annoy-ts-crash-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function makeIndex(seed: number, n: number): AnnoyIndex {
  const index = new AnnoyIndex(F, METRIC);
  for (let i = 0; i < n; i++) index.addItem(i, Array.from({ length: F }, (_, k) => Math.sin(seed * 1000 + i * 31 + k)));
  index.setSeed(seed);
  index.build(4);
  return index;
}

/**
 * The library, bundled into one plain JavaScript file for the child (esbuild, which tsx brings), so
 * that a child starts in tens of milliseconds rather than compiling TypeScript on every start.
 */
function bundleLibrary(outfile: string): void {
  const esbuild = createRequire(createRequire(import.meta.url).resolve('tsx'))('esbuild') as { buildSync(options: object): unknown };
  esbuild.buildSync({
    entryPoints: [fileURLToPath(new URL('../../packages/annoy-ts/src/node/index.ts', import.meta.url))],
    bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, logLevel: 'error',
  });
}

const CHILD = `
import { readFileSync } from 'node:fs';
import { AnnoyIndex } from './annoy-ts.mjs';
const [path, a, b, first] = process.argv.slice(2);
const x = AnnoyIndex.fromBuffer(readFileSync(a), ${F}, '${METRIC}');
const y = AnnoyIndex.fromBuffer(readFileSync(b), ${F}, '${METRIC}');
const pair = first === 'a' ? [x, y] : [y, x];
process.stdout.write('ready\\n');
for (let k = 0; ; k++) {
  pair[k % 2].save(path);
  process.stdout.write('.');
}
`;

interface Outcome {
  holds: 'a' | 'b';
  sidecar: boolean;
  saves: number;
  debris: number;
}

/** Starts the saving child, kills it `delay` ms after it is ready; resolves with the saves it finished. */
async function runAndKill(childPath: string, args: string[], delay: number): Promise<number> {
  return (await killAfterReady(childPath, args, delay)).length;
}

/** What a kill left behind in `folder`: must be one complete index, a consistent sidecar or none, and at most temporary files. */
function inspect(folder: string, path: string, a: Buffer, b: Buffer): Omit<Outcome, 'saves'> {
  const bytes = readFileSync(path);
  const holds = bytes.equals(a) ? 'a' : bytes.equals(b) ? 'b' : null;
  if (holds === null) throw new Error(`${path} is neither index after the kill: ${bytes.length} bytes (expected ${a.length} or ${b.length})`);
  const sidecarPath = `${path}.json`;
  const sidecar = existsSync(sidecarPath);
  if (sidecar) {
    const parsed = parseSidecar(readFileSync(sidecarPath, 'utf8'), sidecarPath);
    expect(parsed.byteLength).toBe(bytes.length);
    expect(parsed.checksum).toBe(`crc32:${crc32(bytes).toString(16).padStart(8, '0')}`);
    const opened = AnnoyIndex.open(path);
    expect(opened.getNItems()).toBe(parsed.nItems);
  } else {
    const loaded = new AnnoyIndex(F, METRIC);
    loaded.load(path);
    expect(loaded.getNnsByItem(0, 3)).toHaveLength(3);
  }
  let debris = 0;
  for (const name of readdirSync(folder)) {
    if (name === 'index.ann' || name === 'index.ann.json') continue;
    expect(name).toMatch(/^\.index\.ann(\.json)?\.\d+\.[0-9a-f]+\.tmp$/);
    rmSync(join(folder, name));
    debris++;
  }
  return { holds, sidecar, debris };
}

describe('save() under SIGKILL', () => {
  it('the path always holds the complete old or the complete new index, with a matching sidecar or none', async () => {
    const childPath = join(root, 'save-loop.mjs');
    bundleLibrary(join(root, 'annoy-ts.mjs'));
    writeFileSync(childPath, CHILD);
    const aIndex = makeIndex(1, 1200);
    const bIndex = makeIndex(2, 1500);
    const a = Buffer.from(aIndex.toBuffer());
    const b = Buffer.from(bIndex.toBuffer());
    writeFileSync(join(root, 'a.bin'), a);
    writeFileSync(join(root, 'b.bin'), b);

    const lane = async (k: number): Promise<Outcome[]> => {
      const folder = join(root, `lane${k}`);
      mkdirSync(folder);
      const path = join(folder, 'index.ann');
      (k % 2 === 0 ? aIndex : bIndex).save(path);
      let holds: 'a' | 'b' = k % 2 === 0 ? 'a' : 'b';
      const outcomes: Outcome[] = [];
      for (let i = 0; i < KILLS_PER_LANE; i++) {
        // The child first writes the index that is not there; kills land from before the first save
        // to a few saves in (a save of these ~100 KB takes a few milliseconds).
        const delay = Math.random() * 30;
        const saves = await runAndKill(childPath, [path, join(root, 'a.bin'), join(root, 'b.bin'), holds === 'a' ? 'b' : 'a'], delay);
        const left = inspect(folder, path, a, b);
        outcomes.push({ ...left, saves });
        holds = left.holds;
      }
      return outcomes;
    };
    const all = (await Promise.all(Array.from({ length: LANES }, (_, k) => lane(k)))).flat();

    // The test is only meaningful if kills landed both before and after completed saves.
    const changed = all.filter((o) => o.saves > 0).length;
    expect(changed).toBeGreaterThan(0);
    expect(new Set(all.map((o) => o.holds)).size).toBe(2);
    const summary = {
      kills: all.length,
      afterAtLeastOneSave: changed,
      saves: all.reduce((s, o) => s + o.saves, 0),
      withoutSidecar: all.filter((o) => !o.sidecar).length,
      leftTempFiles: all.filter((o) => o.debris > 0).length,
    };
    console.log(`crash safety: ${JSON.stringify(summary)}`);
  });
});
