// Type check of a consumer under bundler resolution (what Vite/esbuild/webpack projects use; no
// "node" condition): `import 'annoy-ts'` must give the portable declarations (dist/index.d.ts).
import * as annoy from 'annoy-ts';
import { AnnoyIndex, AnnoyStateError, type SearchResult } from 'annoy-ts';

const index = new AnnoyIndex(3, 'euclidean');
index.addItem(0, [1, 0, 0]);
index.build(10);
const bytes: Uint8Array = index.toBuffer();
const reopened = AnnoyIndex.fromBuffer(bytes.buffer, 3, 'euclidean');
const result: SearchResult = reopened.getNnsByItem(0, 1, -1, true);
const stateError = new AnnoyStateError('x');
// @ts-expect-error the portable entry has no open() (no file system in a browser)
AnnoyIndex.open('vectors.ann');
// @ts-expect-error crc32 is exported by the Node entry only
annoy.crc32;
export { result, stateError };
