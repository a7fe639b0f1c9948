/**
 * C++ Annoy compiled with -O3 -march=native: the reference driver's setup
 * (test/helpers/annoy-ref.ts → tools/annoy-ref/setup.sh) fetches Annoy's
 * header from Debian's r-cran-rcppannoy and checks that g++ works; builds and
 * queries then go through bench/native/annoy-bench.cc, compiled here against
 * the same header with the same flags as the driver's native variant (see that
 * file for why it is not the driver itself).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { annoyRefPath, annoyRefUnavailableReason, refAbout } from '../../test/helpers/annoy-ref.ts';
import { BENCH_DIR, CACHE_DIR, REPO_ROOT } from './paths.ts';

/** The reference driver's "native" flags (tools/annoy-ref/setup.sh). */
export const NATIVE_FLAGS = ['-std=c++14', '-O3', '-march=native', '-ffast-math', '-fno-associative-math'];
/** Enables Annoy's multi-threaded build policy (build(n_trees, n_jobs) in bench/parallel.ts). */
const THREADS = ['-DANNOYLIB_MULTITHREADED_BUILD', '-pthread'];
const SOURCE = path.join(BENCH_DIR, 'native', 'annoy-bench.cc');
const BINARY = path.join(CACHE_DIR, 'annoy-bench-native');

export interface NativeTools {
  /** The reference driver (its identity keys cached builds). */
  driver: string;
  /** annoy-bench (build and serve). */
  binary: string;
  /** 'avx' / 'avx512' / 'none': the SIMD path Annoy's header picked. */
  simd: string;
  cxx: string;
}

function includeDir(): string {
  const env = process.env['ANNOY_INCLUDE_DIR'];
  if (env !== undefined && env !== '') return env;
  // Written by tools/annoy-ref/setup.sh next to the drivers it builds.
  return fs.readFileSync(path.join(REPO_ROOT, '.cache', 'annoy-ref', 'include-dir'), 'utf8').trim();
}

/** The driver and the compiled annoy-bench, or the reason they are unavailable. */
export function nativeTools(): NativeTools | { unavailable: string } {
  const driver = annoyRefPath('native');
  if (driver === null) return { unavailable: annoyRefUnavailableReason('native') ?? 'annoy reference driver unavailable' };
  let inc: string;
  try {
    inc = includeDir();
  } catch (e) {
    return { unavailable: `cannot find Annoy's header directory: ${(e as Error).message}` };
  }
  const stamp = createHash('sha1')
    .update(fs.readFileSync(SOURCE))
    .update(`|${inc}|${[...NATIVE_FLAGS, ...THREADS].join(' ')}`)
    .digest('hex');
  const stampFile = `${BINARY}.stamp`;
  const upToDate = fs.existsSync(BINARY) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp;
  if (!upToDate) {
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = `${BINARY}.tmp-${process.pid}`;
    try {
      execFileSync('g++', [...NATIVE_FLAGS, ...THREADS, '-Wall', '-Wno-unused-parameter', '-isystem', inc, '-o', tmp, SOURCE], {
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
      });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      return { unavailable: `compiling ${path.relative(REPO_ROOT, SOURCE)} failed: ${(err.stderr ?? err.message).trim().slice(0, 2000)}` };
    }
    fs.renameSync(tmp, BINARY);
    fs.writeFileSync(stampFile, stamp);
  }
  const about = refAbout({ variant: 'native' });
  return { driver, binary: BINARY, simd: about.annoy_simd, cxx: about.cxx };
}
