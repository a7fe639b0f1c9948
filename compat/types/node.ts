// Type check of a consumer under Node.js module resolution (module/moduleResolution nodenext):
// `import 'annoy-ts'` must give the Node entry's declarations (dist/node/index.d.ts): file I/O,
// sidecars, crc32 — and nothing may need @types/node (this project has none installed).
import { AnnoyArgumentError, AnnoyError, AnnoyIndex, crc32, type MetricName, type SearchResult } from 'annoy-ts';

const metric: MetricName = 'angular';
const index = new AnnoyIndex(3, metric);
index.addItem(0, [1, 0, 0]);
index.addItem(1, new Float32Array([0, 1, 0]));
index.build(10, -1, { onProgress: () => {} });
index.save('vectors.ann');
index.load('vectors.ann', true);
const opened: AnnoyIndex = AnnoyIndex.open('vectors.ann', { verifyChecksum: true });
const ids: number[] = opened.getNnsByItem(0, 2);
const withDistances: SearchResult = opened.getNnsByVector([1, 0, 0], 2, -1, true);
const distance: number = withDistances.distances[0] ?? 0;
const checksum: number = crc32(opened.toBuffer());
const reopened: AnnoyIndex = AnnoyIndex.fromBuffer(opened.toBuffer(), 3, 'angular');
const isArgumentError: boolean = new AnnoyArgumentError('x') instanceof AnnoyError;
// @ts-expect-error 'cosine' is not a metric name
new AnnoyIndex(3, 'cosine');
export { checksum, distance, ids, isArgumentError, reopened };
