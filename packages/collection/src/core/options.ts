import { AnnoyArgumentError, AnnoyFormatError, AnnoyIndex, type GraphOptions } from 'annoy-ts';
import { checkFraction, checkObject, checkPositiveInteger, DEFAULT_MAX_ATTRIBUTES_LENGTH, describe } from './input.ts';

/** When a collection rebuilds its indexes by itself. */
export interface AutoCompactOptions {
  /** Rebuild the delta index once the memtable (items searched exactly) holds this many rows (default 4096). */
  memtableLimit?: number;
  /** Full compaction once the items added since the last one reach this fraction of the base index's live items (default 0.25). */
  deltaFraction?: number;
  /** Full compaction once this fraction of the base index's items is deleted or replaced (default 0.2). */
  deletedFraction?: number;
}

export interface Policy {
  auto: boolean;
  memtableLimit: number;
  deltaFraction: number;
  deletedFraction: number;
}

export const DEFAULT_TREES = 20;
export const DEFAULT_SEED = 42n;
export const DEFAULT_POLICY: Policy = { auto: true, memtableLimit: 4096, deltaFraction: 0.25, deletedFraction: 0.2 };

export function policyFrom(autoCompact: unknown): Policy {
  if (autoCompact === undefined || autoCompact === true) return { ...DEFAULT_POLICY };
  if (autoCompact === false) return { ...DEFAULT_POLICY, auto: false };
  const o = checkObject(autoCompact, 'autoCompact');
  for (const name of Object.keys(o)) {
    if (!['memtableLimit', 'deltaFraction', 'deletedFraction'].includes(name)) {
      throw new AnnoyArgumentError(`autoCompact: unknown option ${JSON.stringify(name)} (known: memtableLimit, deltaFraction, deletedFraction)`);
    }
  }
  return {
    auto: true,
    memtableLimit: o.memtableLimit === undefined ? DEFAULT_POLICY.memtableLimit : checkPositiveInteger(o.memtableLimit, 'autoCompact.memtableLimit'),
    deltaFraction: o.deltaFraction === undefined ? DEFAULT_POLICY.deltaFraction : checkFraction(o.deltaFraction, 'autoCompact.deltaFraction'),
    deletedFraction: o.deletedFraction === undefined ? DEFAULT_POLICY.deletedFraction : checkFraction(o.deletedFraction, 'autoCompact.deletedFraction'),
  };
}

/** Which build the policy asks for now, given the collection's parts (null: none). */
export function buildDue(policy: Policy, counts: { baseItems: number; baseLive: number; deltaLive: number; memtableRows: number; memtableLive: number }): 'full' | 'delta' | null {
  if (!policy.auto) return null;
  const { baseItems, baseLive, deltaLive, memtableRows, memtableLive } = counts;
  const added = deltaLive + memtableLive;
  if (baseLive === 0) return added > 0 && memtableRows >= policy.memtableLimit ? 'full' : null;
  if (added >= policy.deltaFraction * baseLive) return 'full';
  if (baseItems - baseLive >= policy.deletedFraction * baseItems) return 'full';
  return memtableRows >= policy.memtableLimit ? 'delta' : null;
}

export function checkTrees(trees: unknown): number {
  return trees === undefined ? DEFAULT_TREES : checkPositiveInteger(trees, 'trees');
}

export function checkSeed(seed: unknown): bigint {
  if (seed === undefined) return DEFAULT_SEED;
  if (typeof seed === 'bigint') return BigInt.asUintN(64, seed);
  if (typeof seed === 'number' && Number.isSafeInteger(seed)) return BigInt.asUintN(64, BigInt(seed));
  throw new AnnoyArgumentError(`seed must be an integer or a bigint, got ${describe(seed)}`);
}

export function checkMaxAttributesLength(value: unknown): number {
  return value === undefined ? DEFAULT_MAX_ATTRIBUTES_LENGTH : checkPositiveInteger(value, 'maxAttributesLength', 2);
}

/**
 * The graph options a collection takes (annoy-ts's GraphOptions without nJobs, which is the
 * collection's build threads, and onProgress): stored with the collection, so JSON only.
 */
export type CollectionGraphOptions = Omit<GraphOptions, 'nJobs' | 'onProgress'>;

const GRAPH_KEYS = ['degree', 'neighbours', 'candidates', 'rounds', 'alpha', 'minDegree', 'seed', 'quantize'];

/**
 * The `graph` option checked: null (off: false or undefined) or the graph options (true: {}).
 * The values are checked by the library itself, on a two-item dry run (well under a millisecond).
 */
export function checkGraph(graph: unknown): CollectionGraphOptions | null {
  if (graph === undefined || graph === false) return null;
  if (graph === true) return {};
  if (graph === null || typeof graph !== 'object' || Array.isArray(graph)) {
    throw new AnnoyArgumentError(`graph must be true, false or graph options (degree, neighbours, …), got ${describe(graph)}`);
  }
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(graph)) {
    if (!GRAPH_KEYS.includes(name)) {
      throw new AnnoyArgumentError(`graph: unknown option ${JSON.stringify(name)} (known: ${GRAPH_KEYS.join(', ')}; the build threads are buildThreads)`);
    }
    if (value !== undefined) out[name] = value;
  }
  const probe = new AnnoyIndex(1, 'euclidean');
  probe.addItem(0, [0]);
  probe.addItem(1, [1]);
  probe.build(1, 1, { graph: { ...out, nJobs: 1 } }); // throws AnnoyArgumentError for a bad value
  return out as CollectionGraphOptions;
}

/** The graph setting as stored in a collection's settings: "false", or the options as JSON. */
export function graphText(graph: CollectionGraphOptions | null): string {
  return graph === null ? 'false' : JSON.stringify(graph);
}

/** A stored graph setting back (null: off); anything unreadable is an AnnoyFormatError naming `where`. */
export function parseGraphText(text: string, where: string): CollectionGraphOptions | null {
  try {
    return checkGraph(JSON.parse(text) as unknown);
  } catch (cause) {
    throw new AnnoyFormatError(`${where}: the stored graph setting ${describe(text)} is not valid: ${(cause as Error).message}`, { cause });
  }
}
