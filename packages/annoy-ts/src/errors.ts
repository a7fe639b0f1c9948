/**
 * Errors thrown by annoy-ts. Every message names the offending value and what was expected,
 * so callers can catch one base class and still show users something actionable.
 */
// Names are spelled out (not taken from the constructor) so they survive minifiers.
export class AnnoyError extends Error {
  override name = 'AnnoyError';
}

/** An argument has the wrong type, range or shape (dimension, id, n, searchK, metric, …). */
export class AnnoyArgumentError extends AnnoyError {
  override name = 'AnnoyArgumentError';
}

/** The call is not allowed in the index's current state (add after build, query before build, …). */
export class AnnoyStateError extends AnnoyError {
  override name = 'AnnoyStateError';
}

/** Bytes that are not a valid Annoy index for the given dimension and metric. */
export class AnnoyFormatError extends AnnoyError {
  override name = 'AnnoyFormatError';
}

/** Reading or writing a file failed; `cause` holds the underlying system error. */
export class AnnoyIOError extends AnnoyError {
  override name = 'AnnoyIOError';
}
