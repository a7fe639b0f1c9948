// Serving the shards of a sharded index (a folder with manifest.json, see annoy-ts's shards/) in a
// cluster: `serve NAME=DIR --nats URL [--shard K,…]` serves the chosen shards (default: all) of
// the folder's current build, each as its own registry slot loaded from the shard's .ann file, and
// this module says which shard of which set each slot is: the manifest's checksum names the set,
// its id runs or id files map the shard's local ids to the user's, its labels file names items.
//
// A rebuild writes new shard files and then a new manifest; a reload (SIGHUP, the admin endpoint)
// re-reads the manifest and loads the new build's file for each served shard — shard by shard,
// so during a rollout shards answer from different sets, which every answer names (see
// QueryOptions.consistent).
import { readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { AnnoyFormatError, checksumText, crc32, MANIFEST_FILE, parseManifest, ShardIdDirectory, type ShardManifest } from 'annoy-ts';
import { labelsFromText, type Labels } from '../server/labels.ts';
import type { Generation } from '../server/registry.ts';
import { ClusterError } from './errors.ts';
import { plainRole, type ShardRole, type ShardSource } from './node.ts';

interface ShardSlot {
  /** The cluster's name of the index. */
  index: string;
  dir: string;
  shard: number;
  /** Shards in the set this server joined (a reload must keep the layout). */
  shards: number;
}

/** One build of a set, as read from its manifest. */
interface Build {
  manifest: ShardManifest;
  set: string;
  ids: ShardIdDirectory;
  labels: Labels | null;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isShardedDir(path: string): boolean {
  try {
    return statSync(path).isDirectory() && statSync(join(path, MANIFEST_FILE)).isFile();
  } catch {
    return false;
  }
}

/** Parses `--shard 0,2` (or "all"); checks the numbers against the manifest. */
function chosenShards(flag: string | undefined, manifest: ShardManifest, dir: string): number[] {
  const count = manifest.shards.length;
  if (flag === undefined || flag === 'all') return Array.from({ length: count }, (_, k) => k);
  const list = flag.split(',').map((s) => s.trim());
  const shards = list.map((s) => {
    const k = /^\d+$/.test(s) ? Number(s) : NaN;
    if (!Number.isInteger(k) || k >= count) {
      throw new ClusterError('bad_request', `--shard ${flag}: ${JSON.stringify(s)} is not a shard of ${dir} (its manifest lists ${count} shard${count === 1 ? '' : 's'}: 0 … ${count - 1})`);
    }
    return k;
  });
  if (new Set(shards).size !== shards.length) throw new ClusterError('bad_request', `--shard ${flag} names a shard twice`);
  return shards;
}

/** The served indexes and shard slots of a cluster server's command line. */
export class ShardSets implements ShardSource {
  readonly #slots = new Map<string, ShardSlot>();
  /** Builds by manifest checksum (a set), shared by the slots of one folder. */
  readonly #builds = new Map<string, Build>();
  /** Which build a loaded shard file belongs to: its path → the set. */
  readonly #fileSet = new Map<string, string>();

  /**
   * Turns `NAME=PATH` specs into registry slots: a plain index stays one slot; a sharded folder
   * becomes one slot per chosen shard, named NAME.shard-K, loaded from the current build's file.
   */
  static expand(specs: readonly { name: string; path: string }[], shardFlag: string | undefined): { indexes: { name: string; path: string }[]; sets: ShardSets } {
    const sets = new ShardSets();
    const indexes: { name: string; path: string }[] = [];
    const sharded = specs.filter((s) => isShardedDir(s.path));
    if (shardFlag !== undefined && sharded.length !== 1) {
      throw new ClusterError('bad_request', sharded.length === 0
        ? `--shard ${shardFlag}: no INDEX is a sharded index folder (one with ${MANIFEST_FILE})`
        : '--shard applies to one sharded folder: serve the others from their own servers, or leave --shard out to serve every shard');
    }
    for (const spec of specs) {
      if (!sharded.includes(spec)) {
        indexes.push(spec);
        continue;
      }
      const build = sets.#read(spec.path);
      for (const shard of chosenShards(shardFlag, build.manifest, spec.path)) {
        const name = `${spec.name}.shard-${shard}`;
        sets.#slots.set(name, { index: spec.name, dir: spec.path, shard, shards: build.manifest.shards.length });
        const path = join(spec.path, build.manifest.shards[shard].file);
        sets.#fileSet.set(path, build.set);
        indexes.push({ name, path });
      }
    }
    return { indexes, sets };
  }

  /** Reads a folder's manifest (and id files, labels) once per build. */
  #read(dir: string): Build {
    const where = join(dir, MANIFEST_FILE);
    let bytes: Buffer;
    try {
      bytes = readFileSync(where);
    } catch (cause) {
      throw new ClusterError('bad_request', `cannot read ${where}: ${(cause as Error).message}`);
    }
    const set = checksumText(crc32(bytes));
    const known = this.#builds.get(set);
    if (known) return known;
    const manifest = parseManifest(bytes.toString('utf8'), where);
    const lists = manifest.shards.map((entry, k) => ('file' in entry.ids ? readIds(dir, entry.ids.file, entry.ids.byteLength, entry.ids.checksum, `shard ${k} of ${dir}`) : null));
    const ids = new ShardIdDirectory(manifest.shards, lists, (k) => `shard ${k} of ${manifest.shards.length} (${join(dir, manifest.shards[k].file)})`);
    let labels: Labels | null = null;
    if (manifest.labels !== undefined) {
      const file = join(dir, manifest.labels);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (cause) {
        throw new ClusterError('bad_request', `cannot read ${file}, the labels named in ${where}: ${(cause as Error).message}`);
      }
      labels = labelsFromText(file, text, manifest.nItems);
    }
    const build: Build = { manifest, set, ids, labels };
    this.#builds.set(set, build);
    return build;
  }

  /** A reload of a shard slot loads the shard's file of the folder's current build. */
  reloadPath(slot: string): string | undefined {
    const s = this.#slots.get(slot);
    if (!s) return undefined;
    const build = this.#read(s.dir);
    const count = build.manifest.shards.length;
    if (count !== s.shards) {
      throw new ClusterError('mismatch', `${s.dir} now lists ${count} shards, and this server joined a set of ${s.shards}: a new layout is served by new servers (or under a new index name)`);
    }
    const entry = build.manifest.shards[s.shard];
    const path = join(s.dir, entry.file);
    this.#fileSet.set(path, build.set);
    return path;
  }

  role(slot: string, g: Generation): ShardRole {
    const s = this.#slots.get(slot);
    if (!s) return plainRole(slot, g);
    const set = this.#fileSet.get(g.loaded.path);
    const build = set === undefined ? undefined : this.#builds.get(set);
    if (!build) throw new ClusterError('mismatch', `${g.loaded.path} is not a shard file of a manifest this server read`);
    const { manifest, ids } = build;
    const entry = manifest.shards[s.shard];
    const name = `shard ${s.shard} of ${manifest.shards.length} (${g.loaded.path})`;
    if (basename(g.loaded.path) !== entry.file) throw new ClusterError('mismatch', `${name}: the manifest names ${entry.file} for this shard`);
    if (g.f !== manifest.f || g.metric !== manifest.metric) {
      throw new AnnoyFormatError(`${name}: the file has f = ${g.f}, ${g.metric}; the manifest says f = ${manifest.f}, ${manifest.metric}`);
    }
    const checksum = g.loaded.sidecar?.checksum;
    if (checksum !== undefined && checksum !== entry.checksum) {
      throw new AnnoyFormatError(`${name}: its sidecar says checksum ${checksum}, but the manifest says ${entry.checksum}: the shard belongs to another build`);
    }
    if (g.index.getNItems() !== entry.nItems) throw new AnnoyFormatError(`${name}: the file holds ${g.index.getNItems()} items, but the manifest says ${entry.nItems}`);
    const shard = s.shard;
    return {
      index: s.index, shard, shards: manifest.shards.length, set: build.set, setItems: manifest.nItems, labels: build.labels,
      toGlobal: (local) => ids.toGlobal(shard, local),
      toLocal: (global) => {
        if (global < entry.firstId || global > entry.lastId) return -1;
        const at = ids.locate(global);
        return at && at.shard === shard ? at.local : -1;
      },
    };
  }
}

function readIds(dir: string, file: string, byteLength: number, checksum: string, name: string): Int32Array {
  const path = join(dir, file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw new AnnoyFormatError(`${name}: cannot read its id file ${path}: ${(cause as Error).message}`);
  }
  if (bytes.length !== byteLength) throw new AnnoyFormatError(`${name}: its id file ${path} is ${bytes.length} bytes, but the manifest says ${byteLength}`);
  const sum = checksumText(crc32(bytes));
  if (sum !== checksum) throw new AnnoyFormatError(`${name}: its id file ${path} has checksum ${sum}, but the manifest says ${checksum}`);
  const ids = new Int32Array(bytes.length / 4);
  if (LITTLE_ENDIAN) new Uint8Array(ids.buffer).set(bytes);
  else for (let i = 0; i < ids.length; i++) ids[i] = bytes.readInt32LE(4 * i);
  return ids;
}
