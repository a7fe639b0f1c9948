// The words shared by the workers of one parallel build and the thread that started them (a module
// of its own: importing build-worker.ts would run the worker).

/** Word positions in the schedule shared by the workers of one build. */
export const SCHEDULE = {
  /** The next tree to claim. */
  next: 0,
  /** Set when a worker fails, so that the others stop waiting for trees that will never come. */
  abort: 1,
  /** Records in tree t (-1 until it is built). */
  count: (t: number) => 2 + t,
  /** Final id of tree t's root, once the worker that built it has put it in place (-1 before). */
  root: (t: number, nTrees: number) => 2 + nTrees + t,
  words: (nTrees: number) => 2 + 2 * nTrees,
};
