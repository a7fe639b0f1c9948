// The demo page in a real browser: build the site (library bundle, page, a 5,000-word GloVe index —
// the demo itself uses 50,000), serve it on a free loopback port, open it in headless Chromium
// (Debian's, driven by playwright-core), run queries through the page's own form controls, and
// check every answer against the same queries run in Node on the same index file.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnnoyIndex } from '../../packages/annoy-ts/src/node/index.ts';
import { KERNELS_WASM_BASE64 } from '../../packages/annoy-ts/src/kernels/wasm-binary.ts';
import { SCREENSHOT_DIR } from '../../web/paths.ts';
import { serveStatic, type StaticServer } from '../../web/server.ts';
import { buildSite, type Site } from '../../web/site.ts';
import { analogy, nearestWords, wordIds, type Neighbour } from '../../web/demo/words.ts';
import { CHROMIUM_PATH, chromiumAvailable, launchChromium, type Browser } from '../helpers/browser.ts';
import { skipWithout } from '../helpers/requirements.ts';

const WORDS = 5000;
const COUNT = 10; // the page's defaults
const SEARCH_K = -1;
const SCREENSHOT = path.join(SCREENSHOT_DIR, 'web-demo.png');

const needs = `Chromium (${CHROMIUM_PATH}; apt-get install chromium)`;
const skip = skipWithout(chromiumAvailable(), needs);

/** What a results table shows: ids and exact distances from data attributes, words from the text. */
async function tableRows(browser: Browser, table: 'nearest' | 'analogy'): Promise<Neighbour[]> {
  return browser.page.$$eval(`#${table}-results tbody tr`, (rows) =>
    rows.map((tr) => ({
      id: Number((tr as HTMLElement).dataset.id),
      word: tr.querySelector('button.word')?.textContent ?? '',
      distance: Number((tr as HTMLElement).dataset.distance),
    })),
  );
}

describe.skipIf(skip)(`the demo page in headless Chromium${skip ? ` — skipped: no ${needs}` : ''}`, () => {
  let dir: string;
  let site: Site;
  let server: StaticServer;
  let browser: Browser;
  let index: AnnoyIndex;
  let words: string[];
  let ids: Map<string, number>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'annoy-ts-web-'));
    site = await buildSite(dir, { words: WORDS, trees: 10 });
    server = await serveStatic(dir);
    browser = await launchChromium();
    // Node's side: the very file the page fetches, opened through its sidecar.
    index = AnnoyIndex.open(site.data.indexFile);
    words = JSON.parse(readFileSync(site.data.labelsFile, 'utf8')) as string[];
    ids = wordIds(words);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads the index and shows how long that took', async () => {
    await browser.page.goto(server.url);
    await browser.page.waitForSelector('body[data-state="ready"]', { timeout: 30_000 });
    const status = await browser.page.textContent('#status');
    expect(status).toMatch(/^Loaded 5,000 words \(100-d, angular, 10 trees\) in [\d.]+ ms: downloaded [\d.]+ MiB in [\d.]+ ms, opened the index in [\d.]+ ms\.$/);
    expect(await browser.page.evaluate(() => crossOriginIsolated)).toBe(true); // fine-grained query timings
    // The page ships the neighbour graph, queries walk it (as Node's open() does), and it shows the speed-up over the trees.
    expect(index.hasGraph()).toBe(true);
    expect(await browser.page.textContent('#graph-status')).toMatch(
      /^Queries walk the neighbour graph \(words\.ann\.graph, [\d.]+ MiB\)\. Speed-up: 200 queries for 10 neighbours: [\d.]+ ms through the graph \(search_k -1, recall [\d.]+\), [\d.]+ ms with the trees alone \(search_k 10000, recall [\d.]+\): [\d.]+× faster\.$/,
    );
  });

  it('compiles the WebAssembly kernels on the main thread (so queries do not fall back to TypeScript)', async () => {
    const compiled = await browser.page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      try {
        new WebAssembly.Module(bytes); // what annoy-ts does: synchronous compilation
        return `ok, ${bytes.length} bytes`;
      } catch (err) {
        return String(err);
      }
    }, KERNELS_WASM_BASE64);
    expect(compiled).toMatch(/^ok/);
  });

  it('a typed word: the same neighbours and distances as the same query in Node', async () => {
    const { page } = browser;
    for (const word of ['computer', 'music']) {
      await page.fill('#nearest-word', '');
      await page.type('#nearest-word', word.toUpperCase() + ' '); // case and spaces do not matter
      await page.press('#nearest-word', 'Enter');
      await page.waitForFunction((w) => document.getElementById('nearest-caption')?.textContent === `Nearest to “${w}”`, word);
      const shown = await tableRows(browser, 'nearest');
      const expected = nearestWords(index, words, ids.get(word)!, COUNT, SEARCH_K);
      expect(expected).toHaveLength(COUNT);
      expect(shown).toEqual(expected);
      // Independently of the page's helper: the raw call, minus the word itself.
      const raw = index.getNnsByItem(ids.get(word)!, COUNT + 1, SEARCH_K, true);
      expect(shown.map((r) => r.id)).toEqual(raw.ids.filter((id) => id !== ids.get(word)).slice(0, COUNT));
      expect(await page.textContent('#nearest-time')).toMatch(new RegExp(`^${COUNT} words near “${word}” in [\\d.]+ ms \\(search_k ${SEARCH_K}\\)\\.$`));
    }
  });

  it('king − man + woman: queen, without the input words, as in Node', async () => {
    const { page } = browser;
    await page.click('button.example[data-words="paris france italy"]');
    await page.waitForFunction(() => document.getElementById('analogy-caption')?.textContent === 'paris − france + italy');
    expect((await tableRows(browser, 'analogy'))[0].word).toBe('rome');

    await page.fill('#analogy-a', 'king');
    await page.fill('#analogy-b', 'man');
    await page.fill('#analogy-c', 'woman');
    await page.press('#analogy-c', 'Enter');
    await page.waitForFunction(() => document.getElementById('analogy-caption')?.textContent === 'king − man + woman');
    const shown = await tableRows(browser, 'analogy');
    expect(shown[0].word).toBe('queen');
    for (const input of ['king', 'man', 'woman']) expect(shown.map((r) => r.word)).not.toContain(input);
    const [a, b, c] = ['king', 'man', 'woman'].map((w) => ids.get(w)!);
    expect(shown).toEqual(analogy(index, words, a, b, c, COUNT, SEARCH_K));
    expect(await page.textContent('#analogy-time')).toMatch(/^10 answers to king − man \+ woman in [\d.]+ ms/);
  });

  it('says so when a word is unknown, and a result word is a keyboard-reachable link to its neighbours', async () => {
    const { page } = browser;
    await page.fill('#nearest-word', 'qwzxv');
    await page.press('#nearest-word', 'Enter');
    await expect.poll(() => page.textContent('#nearest-time')).toBe('“qwzxv” is not among the 5,000 words.');
    expect(await page.isHidden('#nearest-results')).toBe(true);

    await page.focus('#analogy-results tbody tr:first-child button.word'); // "queen"
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('nearest-caption')?.textContent === 'Nearest to “queen”');
    expect(await page.inputValue('#nearest-word')).toBe('queen');
    expect(await tableRows(browser, 'nearest')).toEqual(nearestWords(index, words, ids.get('queen')!, COUNT, SEARCH_K));
    // Every input has a label.
    const unlabelled = await page.$$eval('input', (inputs) => inputs.filter((i) => (i as HTMLInputElement).labels?.length === 0).map((i) => i.id));
    expect(unlabelled).toEqual([]);
  });

  it('takes a screenshot, with no errors in the console', async () => {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await browser.page.fill('#nearest-word', 'king');
    await browser.page.press('#nearest-word', 'Enter');
    await browser.page.waitForFunction(() => document.getElementById('nearest-caption')?.textContent === 'Nearest to “king”');
    await browser.page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(readFileSync(SCREENSHOT).subarray(1, 4).toString()).toBe('PNG');
    expect(browser.errors).toEqual([]);
  });
});
