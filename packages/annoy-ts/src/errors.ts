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

/** A constructor of one of the classes above. */
export type AnnoyErrorClass = new (message: string, options?: ErrorOptions) => AnnoyError;

const CLASSES: Record<string, AnnoyErrorClass> = {
  AnnoyError, AnnoyArgumentError, AnnoyStateError, AnnoyFormatError, AnnoyIOError,
};

/**
 * The error class whose `name` is `name` (AnnoyError for any other name): errors cross a thread
 * or process as `{ name, message }` and are rebuilt on the other side with their own class.
 */
export function errorClassNamed(name: string): AnnoyErrorClass {
  return Object.hasOwn(CLASSES, name) ? CLASSES[name] : AnnoyError;
}
