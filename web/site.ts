// The demo site, ready to serve from one folder:
//   index.html, style.css   copied from web/demo/
//   app.js (+ .map)         web/demo/app.ts bundled, with 'annoy-ts' left as an import of ./annoy-ts.js
//   annoy-ts.js (+ .map)    the library's browser bundle (the same build as dist/web/annoy-ts.js)
//   site.json               the bundle's size, shown in the page's footer
//   data/                   the index, its sidecar and the words (web/data.ts)
import { build, type Plugin } from 'esbuild';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildBundle, type BundleReport } from './build.ts';
import { buildDemoData, type DemoData, type DemoDataOptions } from './data.ts';
import { REPO_ROOT, WEB_DIR } from './paths.ts';

const DEMO_SOURCE = path.join(WEB_DIR, 'demo');

/** `import … from 'annoy-ts'` in the app becomes `import … from './annoy-ts.js'`: the page loads the real bundle. */
const libraryAsSibling: Plugin = {
  name: 'annoy-ts-as-sibling',
  setup(b) {
    b.onResolve({ filter: /^annoy-ts$/ }, () => ({ path: './annoy-ts.js', external: true }));
  },
};

export interface Site {
  dir: string;
  bundle: BundleReport;
  data: DemoData;
}

/** Builds the page, the library bundle and (unless up to date) the data into `dir`. */
export async function buildSite(dir: string, data: DemoDataOptions = {}): Promise<Site> {
  await mkdir(dir, { recursive: true });
  const [bundle] = await Promise.all([
    buildBundle({ outfile: path.join(dir, 'annoy-ts.js') }),
    build({
      absWorkingDir: REPO_ROOT,
      entryPoints: [path.join(DEMO_SOURCE, 'app.ts')],
      outfile: path.join(dir, 'app.js'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2022'],
      sourcemap: 'linked',
      plugins: [libraryAsSibling],
      logLevel: 'silent',
    }),
    copyFile(path.join(DEMO_SOURCE, 'index.html'), path.join(dir, 'index.html')),
    copyFile(path.join(DEMO_SOURCE, 'style.css'), path.join(dir, 'style.css')),
  ]);
  if (bundle.problems.length > 0) throw new Error(`the browser bundle is not fit for browsers:\n${bundle.problems.join('\n')}`);
  await writeFile(path.join(dir, 'site.json'), JSON.stringify({ bundle: { bytes: bundle.bytes, gzipBytes: bundle.gzipBytes } }) + '\n');
  const demoData = await buildDemoData(path.join(dir, 'data'), data);
  return { dir, bundle, data: demoData };
}
