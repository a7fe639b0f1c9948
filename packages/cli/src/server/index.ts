// The annoy-ts HTTP query service (annoy-ts serve). See server.ts.
export { AnnoyServer, isLoopback, startServer, type ServeOptions } from './server.ts';
export { DEFAULT_LIMITS, type Limits } from './schemas.ts';
export type { SearchMode } from './search.ts';
export type { ReloadResult } from './registry.ts';
