// Every error the service sends is one JSON object, { error, message, statusCode }, where `error`
// is a stable machine-readable code and `message` names the problem for a person. Bad requests
// are 4xx; a 5xx means a bug in the server (or 503: shutting down).
import { AnnoyArgumentError, AnnoyError } from 'annoy-ts';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

/** An error with an HTTP status and a stable code, thrown by handlers and hooks. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(readonly statusCode: number, readonly code: string, message: string) {
    super(message);
  }
}

export const badRequest = (code: string, message: string) => new ApiError(400, code, message);
export const notFound = (code: string, message: string) => new ApiError(404, code, message);

/** Describes a JSON value briefly for an error message: `"abc"`, `null`, `an array of 3`, `an object`. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value === undefined) return 'nothing';
  return 'an object';
}

/** Ajv's error objects (with `verbose: true`: data and parentSchema included). */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
  data?: unknown;
  parentSchema?: { properties?: Record<string, unknown>; [key: string]: unknown };
}

/** `/queries/3/vector/2` → `queries[3].vector[2]`. */
export function fieldName(instancePath: string, part: string): string {
  const segments = instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = '';
  for (const s of segments) out += /^\d+$/.test(s) ? `[${s}]` : out ? `.${s}` : s;
  return out || (part === 'body' ? 'the body' : part);
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'an integer', number: 'a number', string: 'a string', array: 'an array', object: 'a JSON object', boolean: 'true or false',
};

/** Hints that name the server option behind a limit. */
const LIMIT_FLAGS: Record<string, string> = { k: '--max-k', searchK: '--max-search-k', queries: '--max-batch' };

/** One readable sentence for the first schema error of a request part (body, params, querystring). */
export function schemaMessage(error: SchemaError, part: string): string {
  const field = fieldName(error.instancePath, part);
  const last = error.instancePath.split('/').pop() ?? '';
  const p = error.params;
  switch (error.keyword) {
    case 'type':
      if (typeof error.data === 'number' && p['type'] !== 'integer') return `${field} is not a finite number (${error.data}: too large for JSON's doubles)`;
      return `${field} must be ${TYPE_WORDS[String(p['type'])] ?? String(p['type'])}, got ${show(error.data)}`;
    case 'required':
      return `${field} is missing the field "${String(p['missingProperty'])}"`;
    case 'additionalProperties': {
      const allowed = Object.keys(error.parentSchema?.properties ?? {});
      return `${field} has an unknown field ${JSON.stringify(p['additionalProperty'])}` +
        (allowed.length ? ` (allowed: ${allowed.join(', ')})` : '');
    }
    case 'maximum': {
      const flag = LIMIT_FLAGS[last];
      return flag
        ? `${field} = ${show(error.data)} is too large: this server allows at most ${String(p['limit'])} (${flag})`
        : `${field} must be at most ${String(p['limit'])}, got ${show(error.data)}`;
    }
    case 'minimum':
      return `${field} must be at least ${String(p['limit'])}, got ${show(error.data)}`;
    case 'maxItems': {
      const flag = LIMIT_FLAGS[last];
      return `${field} has ${show((error.data as unknown[]).length)} entries; ${flag ? 'this server allows' : 'the limit is'} at most ${String(p['limit'])}${flag ? ` (${flag})` : ''}`;
    }
    case 'minItems':
      return `${field} must have at least ${String(p['limit'])} entr${p['limit'] === 1 ? 'y' : 'ies'}`;
    case 'maxLength':
      return `${field} is longer than ${String(p['limit'])} characters`;
    case 'minLength':
      return `${field} must not be empty`;
    case 'pattern':
      if (last === 'id') return `item id must be a non-negative integer, got ${show(error.data)}`;
      if (last === 'name') return `index name must be letters, digits, '.', '_' or '-', got ${show(error.data)}`;
      return `${field} has the wrong form: ${show(error.data)}`;
    default:
      return `${field} ${error.message ?? 'is invalid'}`;
  }
}

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message: string;
  validation?: SchemaError[];
  validationContext?: string;
}

/**
 * Maps anything thrown while handling a request to a status and a JSON body. Fastify's own
 * errors (body too large, media type, bad JSON…) become 4xx with a clear message; a thrown
 * AnnoyArgumentError is a 400; an unexpected error is a 500 that hides its details.
 */
export function toErrorBody(error: unknown, limits: { maxBodyBytes: number }): ErrorBody {
  if (error instanceof ApiError) return { statusCode: error.statusCode, error: error.code, message: error.message };
  if (error instanceof AnnoyArgumentError) return { statusCode: 400, error: 'invalid_argument', message: error.message };
  if (error instanceof AnnoyError) return { statusCode: 500, error: 'internal', message: `internal error (${error.name})` };
  const e = error as FastifyLikeError;
  if (e && Array.isArray(e.validation) && e.validation.length > 0) {
    return { statusCode: 400, error: 'invalid_request', message: schemaMessage(e.validation[0], e.validationContext ?? 'body') };
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { statusCode: 413, error: 'body_too_large', message: `the request body is larger than this server's limit of ${limits.maxBodyBytes} bytes (--max-body)` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { statusCode: 415, error: 'unsupported_media_type', message: 'the request body must be JSON (Content-Type: application/json)' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { statusCode: 400, error: 'invalid_json', message: 'the request body is empty, but Content-Type says JSON' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { statusCode: 400, error: 'invalid_request', message: 'the request body does not match its Content-Length' };
  }
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    return { statusCode: status, error: 'invalid_request', message: typeof e?.message === 'string' ? e.message : 'bad request' };
  }
  if (status === 503) return { statusCode: 503, error: 'unavailable', message: 'the server is shutting down' };
  return { statusCode: 500, error: 'internal', message: 'internal error' };
}
