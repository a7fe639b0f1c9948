// The classic Annoy tutorial on the SMS Spam Collection (examples/spam): the CSV reader, the
// tokenizer and the embedder, then the whole pipeline — dot index, 50 trees, save, load, 100
// neighbours, first neighbour's label — which must reach 98.0% accuracy on the 572 held-out messages.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AnnoyIndex } from '../../packages/annoy-ts/src/node/index.ts';
import { loadGlove } from '../../datasets/glove.ts';
import { decodeLatin1, parseSpamCsv, readSpamCsv } from '../../examples/spam/data.ts';
import { cleanText, createEmbedder, tokenize } from '../../examples/spam/embed.ts';
import { exactNearestByDot, majorityLabel, score } from '../../examples/spam/evaluate.ts';
import { skipWithout } from '../helpers/requirements.ts';

const CSV = fileURLToPath(new URL('../../../shared/data/spam.csv', import.meta.url));

describe('spam.csv reader', () => {
  it('decodes latin-1: every byte is one character', () => {
    const bytes = Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xa3, 0x35, 0x20, 0xe5, 0xa3]);
    expect(decodeLatin1(bytes)).toBe('café £5 å£');
  });

  it('parses quoted fields with commas, newlines and doubled quotes, and drops the empty trailing columns', () => {
    const csv = 'v1,v2,,,\r\nham,"Hi, how are you?\nSee you at 5",,,\r\nspam,"Say ""WIN"" to 87121, now",,,\r\nham,plain text,,,\r\n';
    expect(parseSpamCsv(csv)).toEqual([
      { label: 'ham', text: 'Hi, how are you?\nSee you at 5' },
      { label: 'spam', text: 'Say "WIN" to 87121, now' },
      { label: 'ham', text: 'plain text' },
    ]);
  });

  it('gives back the text of rows whose commas spilled into the trailing columns', () => {
    // As in the file: backslash-escaped quotes broke the quoting, so the parser split the text at its commas.
    const csv = 'v1,v2,,,\r\nspam,"Simply text the password \\MIX\\"" to 85069. FML", PO Box 5249," MK17 92H. 450Ppw 16""",\r\n';
    const [m] = parseSpamCsv(csv);
    expect(m.text).toBe('Simply text the password \\MIX\\" to 85069. FML, PO Box 5249, MK17 92H. 450Ppw 16"');
    expect(cleanText(m.text)).toBe('Simply text the password "MIX" to 85069. FML, PO Box 5249, MK17 92H. 450Ppw 16"');
  });

  it('reads latin-1 bytes end to end (å£ is the file\'s mojibake for £)', () => {
    const text = 'v1,v2,,,\nspam,"Win \u00e5\u00a3900, call now",,,\n';
    const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
    const [m] = parseSpamCsv(decodeLatin1(bytes));
    expect(m.text).toBe('Win å£900, call now');
    expect(cleanText(m.text)).toBe('Win £900, call now');
  });

  it('rejects a wrong header and unknown labels', () => {
    expect(() => parseSpamCsv('label,text\nham,hi\n')).toThrow(/header/);
    expect(() => parseSpamCsv('v1,v2\nmaybe,hi\n')).toThrow(/row 2: label/);
  });
});

describe('tokenizer', () => {
  it('lower-cases; words, symbols and runs of dots are tokens; numbers are dropped', () => {
    expect(tokenize('WINNER!! Call 09061701461 to claim £1.50... ok?')).toEqual(
      ['winner', '!', '!', 'call', 'to', 'claim', '£', '…', 'ok', '?'],
    );
    expect(tokenize('Prize of 100,000 at 12:30, 2nite, e-mail me')).toEqual(['prize', 'of', 'at', ',', '2nite', ',', 'e-mail', 'me']);
  });

  it('spells out clitics, straight or curly; drops "\'s"', () => {
    expect(tokenize("Don't, I'll, won't, can't, I’m, you've, it's John's")).toEqual(
      ['do', 'not', ',', 'i', 'will', ',', 'will', 'not', ',', 'can', 'not', ',', 'i', 'am', ',', 'you', 'have', ',', 'it', 'john'],
    );
    expect(tokenize("o'clock")).toEqual(['oclock']);
  });

  it('turns URLs into the token url', () => {
    expect(tokenize('Go to http://wap.example.com/x?y=1. Or www.getzed.co.uk, or txttowin.co.uk!')).toEqual(
      ['go', 'to', 'url', '.', 'or', 'url', ',', 'or', 'url', '!'],
    );
  });

  it('repairs the export\'s mojibake and HTML entities before tokenizing', () => {
    expect(cleanText('That\u00e5\u00d5s \u0089\u00db\u00f7cool\u0089\u00db_ \u00cc_ &lt;#&gt; &amp; \\"hi\\"')).toBe('That’s ’cool… ü <#> & "hi"');
    expect(tokenize('That\u00e5\u00d5s it')).toEqual(['that', 'it']);
  });
});

describe('embedder', () => {
  const words = ['the', 'cat', 'sat', '!'];
  const vectors = Float32Array.from([1, 0, 0, /**/ 0, 2, 0, /**/ 0, 0, 4, /**/ 3, 3, 0]);
  const embedder = createEmbedder({ words, vectors, dim: 3 });

  it('averages the known tokens (each occurrence counts), skips unknown ones, then normalises', () => {
    const raw = embedder.embed('The cat, the dog', { normalise: false });
    expect(raw.known).toBe(3);
    expect(raw.tokens).toBe(5);
    expect(Array.from(raw.vector)).toEqual([Math.fround(2 / 3), Math.fround(2 / 3), 0]); // float32
    const unit = embedder.embed('The cat, the dog');
    expect(unit.vector[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(unit.vector[1]).toBeCloseTo(Math.SQRT1_2, 6);
  });

  it('gives a message with no known token the mean word vector of the vocabulary', () => {
    const e = embedder.embed('Erutupalam thandiyachu 645', { normalise: false });
    expect(e.known).toBe(0);
    expect(Array.from(e.vector)).toEqual([1, 1.25, 1]);
    const n = Math.hypot(1, 1.25, 1);
    expect(Array.from(embedder.embed('645').vector).map((x) => x * n)).toEqual([1, 1.25, 1].map((x) => expect.closeTo(x, 5)));
  });
});

describe.skipIf(skipWithout(existsSync(CSV), `the SMS Spam Collection (${CSV})`))(
  `nearest-label classification of the SMS Spam Collection${existsSync(CSV) ? '' : ` (skipped: ${CSV} is missing)`}`,
  () => {
    it('annoy-ts (dot, 50 trees, saved and loaded) reaches ≥ 98.0% accuracy, as exact 1-NN does', async () => {
      const messages = readSpamCsv(CSV);
      expect(messages).toHaveLength(5572);
      const labels = messages.map((m) => m.label);
      const queried = labels.slice(5000);
      expect(queried.filter((l) => l === 'spam')).toHaveLength(74);

      const glove = await loadGlove({ quiet: true });
      const embedder = createEmbedder(glove);
      const unit = messages.map((m) => embedder.embed(m.text).vector);

      const index = new AnnoyIndex(glove.dim, 'dot');
      for (let i = 0; i < 5000; i++) index.addItem(i, unit[i]);
      index.setSeed(42);
      index.build(50);
      const dir = mkdtempSync(join(tmpdir(), 'annoy-ts-spam-'));
      try {
        index.save(join(dir, 'spam.ann'));
        const loaded = new AnnoyIndex(glove.dim, 'dot');
        loaded.load(join(dir, 'spam.ann'));
        expect(loaded.getNItems()).toBe(5000);
        const annoyIds = unit.slice(5000).map((q) => loaded.getNnsByVector(q, 100)[0]);

        const items = new Float32Array(5000 * glove.dim);
        for (let i = 0; i < 5000; i++) items.set(unit[i], i * glove.dim);
        const exactIds = unit.slice(5000).map((q) => exactNearestByDot(items, glove.dim, q, 1)[0]);

        const annoy = score(queried, annoyIds.map((id) => labels[id]));
        const exact = score(queried, exactIds.map((id) => labels[id]));
        const sameFirst = annoyIds.filter((id, q) => id === exactIds[q]).length;
        console.log(
          `SMS spam, 572 queries: annoy-ts dot ${(100 * annoy.accuracy).toFixed(2)}% (${annoy.correct}/572, spam recall ` +
            `${(100 * annoy.spamRecall).toFixed(1)}%, precision ${(100 * annoy.spamPrecision).toFixed(1)}%), exact 1-NN ` +
            `${(100 * exact.accuracy).toFixed(2)}%, same first neighbour as exact for ${sameFirst}/572`,
        );
        expect(annoy.accuracy).toBeGreaterThanOrEqual(0.98);
        expect(exact.accuracy).toBeGreaterThanOrEqual(0.98);
        expect(Math.abs(annoy.correct - exact.correct)).toBeLessThanOrEqual(2); // nothing measurable lost to approximation
        expect(sameFirst).toBeGreaterThanOrEqual(0.98 * 572);
        expect(annoy.spamRecall).toBeGreaterThan(0.9);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }

      // Inner products of unnormalised averages: a few short (mostly ham) messages are everyone's
      // nearest neighbour, and the result is no better than always answering "ham" (87.1%).
      const raw = messages.map((m) => embedder.embed(m.text, { normalise: false }).vector);
      const rawItems = new Float32Array(5000 * glove.dim);
      for (let i = 0; i < 5000; i++) rawItems.set(raw[i], i * glove.dim);
      const rawIds = raw.slice(5000).map((q) => exactNearestByDot(rawItems, glove.dim, q, 1)[0]);
      const rawScores = score(queried, rawIds.map((id) => labels[id]));
      const majority = score(queried, queried.map(() => majorityLabel(labels.slice(0, 5000))));
      expect(majority.accuracy).toBeCloseTo(0.871, 3);
      expect(rawScores.accuracy).toBeLessThanOrEqual(majority.accuracy + 0.01);
      expect(rawScores.spamRecall).toBeLessThan(0.1);
      expect(new Set(rawIds).size).toBeLessThan(60);
    });
  },
);
