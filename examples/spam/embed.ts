// Message vectors from word vectors: clean → tokenize → look up → average → L2-normalise.
//
// This module knows nothing about Annoy: it turns a text into a Float32Array, and the example puts
// those into an index. Any other source of vectors (a sentence encoder, TF-IDF + SVD, …) would do.

/** Word vectors, row i of `vectors` (dim floats) belonging to `words[i]` (e.g. loadGlove()). */
export interface WordVectors {
  words: string[];
  vectors: Float32Array;
  dim: number;
}

// ---------------------------------------------------------------------------
// Cleaning

/**
 * Undo the artefacts of the Kaggle export of the SMS Spam Collection, and decode the HTML entities
 * SMS gateways left in. Somewhere on its way the file's text went UTF-8 → Mac Roman → latin-1, so
 * "£" reads "å£", "’" reads "åÕ" or "\u0089Û÷", "…" reads "\u0089Û_", "–" reads "\u0089ÛÒ", and
 * the Singlish "ü" (= you) reads "Ì_" or "ÌÏ"; and quotes were written as backslashes (`\"` or `\`).
 * (`\u2030` = "‰" is accepted for 0x89 too, in case the bytes were decoded as windows-1252.)
 */
export function cleanText(text: string): string {
  return text
    .replace(/å£/g, '£')
    .replace(/[\u0089\u2030]Û[÷ª]|åÕ/g, '’')
    .replace(/[\u0089\u2030]Û_/g, '…')
    .replace(/[\u0089\u2030]Û[ÒÓ]|åÓ/g, '–')
    .replace(/[\u0089\u2030]ÛÏ/g, '"')
    .replace(/Ì_|ÌÏ/g, 'ü')
    .replace(/\\"?/g, '"')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/&amp;/gi, '&')
    .replace(/&quot;/gi, '"')
    .replace(/&apos;|&#39;/gi, "'");
}

// ---------------------------------------------------------------------------
// Tokenizing

/** http://…, https://…, www.… (up to a space or comma, without trailing punctuation), or a bare domain. */
const URL_RE =
  /\b(?:https?:\/\/|www\.)[^\s,]*[^\s,.!?)]|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|biz|info|co\.uk)\b(?:[/?#][^\s,]*[^\s,.!?)])?/gu;
/** In order: a number with separators (1.50, 100,000, 12:30) · a word · a run of dots · any other single non-space character. */
const TOKEN_RE = /\p{N}+(?:[.,:]\p{N}+)+|[\p{L}\p{M}\p{N}]+(?:['’‘-][\p{L}\p{M}\p{N}]+)*|\.{2,}|[^\s\p{L}\p{M}\p{N}]/gu;
const NEGATIONS: Record<string, string[]> = { "won't": ['will', 'not'], "can't": ['can', 'not'], "shan't": ['shall', 'not'], "ain't": ['is', 'not'] };
const CLITIC_RE = /^(.+?)(n't|'ll|'re|'ve|'m|'d|'s)$/;
const CLITICS: Record<string, string> = { "n't": 'not', "'ll": 'will', "'re": 'are', "'ve": 'have', "'m": 'am', "'d": 'would', "'s": '' };

/**
 * Split a message into tokens, after cleanText(), lower-casing and Unicode NFC. A token is:
 *  - a URL (http://…, https://…, www.…, or a bare domain such as getzed.co.uk) → the single token `url`;
 *  - a word: a run of letters and digits, with inner apostrophes or hyphens ("don't", "e-mail", "2nite",
 *    "kl341"). Curly apostrophes count as "'". English clitics are split off and spelled out
 *    ("don't" → do not, "won't" → will not, "i'll" → i will, "i'm" → i am; "'s" is dropped, being
 *    is / has / possessive); any other apostrophe is removed ("o'clock" → oclock);
 *  - a run of two or more dots → `…`;
 *  - any other single character that is not a space: punctuation and symbols ("!", "?", "£", "&", ":"),
 *    one token each, so "!!" is two `!`: they carry signal ("£" and "!" are spammy) and have vectors.
 * Numbers (digit runs, with . , : inside: 87121, 1.50, 100,000) are dropped: the vocabulary has no
 * numerals, and a placeholder token for them measured worse.
 */
export function tokenize(text: string): string[] {
  const s = cleanText(text).toLowerCase().normalize('NFC').replace(URL_RE, ' url ');
  const out: string[] = [];
  for (const [match] of s.matchAll(TOKEN_RE)) {
    const t = match.replace(/[’‘]/g, "'");
    if (/^\.{2,}$/.test(t)) out.push('…');
    else if (!/[\p{L}\p{M}\p{N}]/u.test(t)) out.push(t); // a symbol
    else if (/^[\p{N}.,:]+$/u.test(t)) continue; // a number
    else if (NEGATIONS[t] !== undefined) out.push(...NEGATIONS[t]);
    else {
      const clitic = CLITIC_RE.exec(t);
      const word = (clitic ? clitic[1] : t).replace(/'/g, '');
      out.push(word);
      if (clitic && CLITICS[clitic[2]] !== '') out.push(CLITICS[clitic[2]]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Embedding

export interface Embedding {
  vector: Float32Array;
  /** Tokens that had a vector (and were averaged). 0 means the fallback vector was used. */
  known: number;
  /** All tokens. */
  tokens: number;
}

export interface Embedder {
  dim: number;
  /** Whether the vocabulary has a vector for this token. */
  has(token: string): boolean;
  /**
   * The message vector: the mean of the vectors of its known tokens (each occurrence counts; unknown
   * tokens are skipped), or the fallback when none is known; then L2-normalised unless
   * `normalise: false`.
   */
  embed(text: string, opts?: { normalise?: boolean }): Embedding;
  /** The vector a message with no known token gets (before normalisation). */
  fallback: Float32Array;
}

/**
 * Build an embedder over word vectors. The fallback for a message with no known token is the mean
 * of all word vectors of the vocabulary, "the average word": it depends on neither the messages nor
 * their labels, is the same for every such message, and — unlike a zero vector — has a direction,
 * so it can be normalised and dot / angular still rank its neighbours (the most generic messages
 * first) instead of tying every score at 0.
 */
export function createEmbedder(wv: WordVectors): Embedder {
  const { words, vectors, dim } = wv;
  const row = new Map<string, number>();
  for (let i = 0; i < words.length; i++) if (!row.has(words[i])) row.set(words[i], i);
  const sum = new Float64Array(dim);
  for (let i = 0; i < words.length; i++) for (let k = 0; k < dim; k++) sum[k] += vectors[i * dim + k];
  const fallback = Float32Array.from(sum, (x) => x / words.length);

  return {
    dim,
    fallback,
    has: (token) => row.has(token),
    embed(text, opts = {}) {
      const tokens = tokenize(text);
      const acc = new Float64Array(dim);
      let known = 0;
      for (const t of tokens) {
        const r = row.get(t);
        if (r === undefined) continue;
        known++;
        for (let k = 0; k < dim; k++) acc[k] += vectors[r * dim + k];
      }
      const vector = known === 0 ? Float32Array.from(fallback) : Float32Array.from(acc, (x) => x / known);
      if (opts.normalise ?? true) normaliseInPlace(vector);
      return { vector, known, tokens: tokens.length };
    },
  };
}

/** Scale v to unit length (a zero vector stays zero). */
export function normaliseInPlace(v: Float32Array): Float32Array {
  let s = 0;
  for (let k = 0; k < v.length; k++) s += v[k] * v[k];
  if (s > 0) {
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < v.length; k++) v[k] *= inv;
  }
  return v;
}
