/**
 * Errors thrown by annoy-ts. Every message names the offending value and what was expected,
 * so callers can catch one base class and still show users something actionable.
 */
export class AnnoyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An argument has the wrong type, range or shape (dimension, id, n, searchK, metric, …). */
export class AnnoyArgumentError extends AnnoyError {}

/** The call is not allowed in the index's current state (add after build, query before build, …). */
export class AnnoyStateError extends AnnoyError {}

/** Bytes that are not a valid Annoy index for the given dimension and metric. */
export class AnnoyFormatError extends AnnoyError {}

/** Reading or writing a file failed; `cause` holds the underlying system error. */
export class AnnoyIOError extends AnnoyError {}
