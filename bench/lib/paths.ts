/** Where the benchmark keeps things. */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The bench/ folder. */
export const BENCH_DIR = path.join(REPO_ROOT, 'bench');
/** Result files (the committed ones are listed in bench/results/.gitignore). */
export const RESULTS_DIR = path.join(BENCH_DIR, 'results');
/** Git-ignored scratch space: work files, indexes, the compiled C++ server, subset ground truth. */
export const CACHE_DIR = path.join(REPO_ROOT, '.cache', 'bench');
