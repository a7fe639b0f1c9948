/**
 * A max-priority queue of (priority, record id) pairs in two typed arrays. Pairs compare
 * lexicographically, higher priority first and then the higher id, exactly like Annoy's
 * std::priority_queue<pair<T, S>>, so the traversal order (and the candidates a bounded
 * search collects) match Annoy's.
 */
export class NodeQueue {
  private prio: Float64Array;
  private ids: Int32Array;
  size = 0;

  constructor(capacity = 64) {
    this.prio = new Float64Array(capacity);
    this.ids = new Int32Array(capacity);
  }

  clear(): void {
    this.size = 0;
  }

  push(priority: number, id: number): void {
    if (this.size === this.prio.length) this.grow();
    const prio = this.prio, ids = this.ids;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pp = prio[parent];
      if (pp > priority || (pp === priority && ids[parent] > id)) break;
      prio[i] = pp;
      ids[i] = ids[parent];
      i = parent;
    }
    prio[i] = priority;
    ids[i] = id;
  }

  /** Priority of the top pair; call before pop(). */
  topPriority(): number {
    return this.prio[0];
  }

  /** Removes the top pair and returns its id. */
  pop(): number {
    const prio = this.prio, ids = this.ids;
    const top = ids[0];
    const n = --this.size;
    if (n === 0) return top;
    const priority = prio[n], id = ids[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n && (prio[r] > prio[c] || (prio[r] === prio[c] && ids[r] > ids[c]))) c = r;
      if (priority > prio[c] || (priority === prio[c] && id > ids[c])) break;
      prio[i] = prio[c];
      ids[i] = ids[c];
      i = c;
    }
    prio[i] = priority;
    ids[i] = id;
    return top;
  }

  private grow(): void {
    const prio = new Float64Array(this.prio.length * 2);
    const ids = new Int32Array(this.ids.length * 2);
    prio.set(this.prio);
    ids.set(this.ids);
    this.prio = prio;
    this.ids = ids;
  }
}

/**
 * Keeps the n best (distance, id) pairs seen, best = smaller distance, then smaller id —
 * Annoy's final ordering. A bounded max-heap: the worst kept pair sits on top.
 */
export class TopK {
  private dist: Float64Array;
  private ids: Int32Array;
  size = 0;
  limit = 0;

  constructor(capacity = 16) {
    this.dist = new Float64Array(capacity);
    this.ids = new Int32Array(capacity);
  }

  reset(limit: number): void {
    if (limit > this.dist.length) {
      this.dist = new Float64Array(limit);
      this.ids = new Int32Array(limit);
    }
    this.limit = limit;
    this.size = 0;
  }

  offer(d: number, id: number): void {
    const dist = this.dist, ids = this.ids;
    if (this.size < this.limit) {
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(d, id, dist[p], ids[p])) break;
        dist[i] = dist[p];
        ids[i] = ids[p];
        i = p;
      }
      dist[i] = d;
      ids[i] = id;
      return;
    }
    if (this.limit === 0 || !worse(dist[0], ids[0], d, id)) return;
    const n = this.size;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && worse(dist[c + 1], ids[c + 1], dist[c], ids[c])) c++;
      if (!worse(dist[c], ids[c], d, id)) break;
      dist[i] = dist[c];
      ids[i] = ids[c];
      i = c;
    }
    dist[i] = d;
    ids[i] = id;
  }

  /** Empties the heap, returning the kept ids best first. */
  drain(): number[] {
    const n = this.size;
    const dist = this.dist, ids = this.ids;
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => (worse(dist[a], ids[a], dist[b], ids[b]) ? 1 : -1));
    this.size = 0;
    return order.map((i) => ids[i]);
  }
}

/** Whether pair (d1, id1) ranks after (d2, id2). NaN distances rank last. */
function worse(d1: number, id1: number, d2: number, id2: number): boolean {
  if (d1 > d2) return true;
  if (d1 < d2) return false;
  if (d1 === d2) return id1 > id2;
  return d1 !== d1 && (d2 === d2 || id1 > id2);
}
