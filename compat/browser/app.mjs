// A tiny web app using annoy-ts, as a page would: build an index in the browser, query it, and
// reopen index bytes (e.g. fetched from a server) with fromBuffer(). compat/browser/bundle.mjs
// bundles it with esbuild for the browser (no Node polyfills) and reports its size.
import { AnnoyIndex } from 'annoy-ts';

const index = new AnnoyIndex(3, 'angular');
index.addItem(0, [1, 0, 0]);
index.addItem(1, [0, 1, 0]);
index.addItem(2, [0.9, 0.2, 0]);
index.build(10);
const bytes = index.toBuffer();                             // what a server would store
const served = AnnoyIndex.fromBuffer(bytes.slice(), 3, 'angular');
console.log(JSON.stringify({ built: index.getNnsByVector([1, 0.1, 0], 2), served: served.getNnsByItem(0, 2, -1, true) }));
