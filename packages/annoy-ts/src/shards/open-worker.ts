// A short-lived thread of ShardedIndex.openAsync: it reads and checks its shards (load.ts) into
// shared WebAssembly memories and hands back their descriptions (shareIndex); the opening thread
// attaches to them, so nothing is copied and the worker can exit.
import { parentPort, workerData } from 'node:worker_threads';
import { shareIndex } from '../threads/share.ts';
import { loadShard, type OpenReply, type OpenRequest } from './load.ts';

const { dir, manifest, shards, verifyChecksum } = workerData as OpenRequest;
for (const shard of shards) {
  let reply: OpenReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const { index, ids } = loadShard(dir, manifest, shard, verifyChecksum);
    try {
      reply = { shard, ok: true, shared: shareIndex(index), ids };
      if (ids) transfer = [ids.buffer as ArrayBuffer];
    } catch (e) {
      reply = { shard, ok: false, unshareable: true, name: (e as Error).name, message: (e as Error).message };
    }
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    reply = { shard, ok: false, unshareable: false, name: error.name, message: error.message };
  }
  parentPort!.postMessage(reply, transfer);
}
