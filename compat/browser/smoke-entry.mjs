// The portable smoke suite (compat/smoke/core.mjs) bundled for the browser: compat/browser/bundle.mjs
// builds this with esbuild (platform browser) and runs the bundle in a sandbox with no Node globals.
import * as api from 'annoy-ts';
import { fixtureFrom, portableSuite } from '../smoke/core.mjs';

globalThis.annoySmoke = (fixtureFiles) => {
  const fixtures = fixtureFiles.map(({ name, files }) => fixtureFrom(name, files));
  const { check, answers } = portableSuite(api, fixtures);
  return JSON.stringify({ checks: check.count, failures: check.failures, answers });
};
