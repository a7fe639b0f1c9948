/**
 * Whether to skip a suite whose reference (real Annoy, the shared fixtures) is missing on this
 * machine. Locally a missing reference skips with its reason; in CI (ANNOY_TS_REQUIRE_REFERENCES=1)
 * it fails, so compatibility is never silently untested.
 */
export function skipWithout(available: boolean, what: string): boolean {
  if (available) return false;
  if (process.env.ANNOY_TS_REQUIRE_REFERENCES === '1') throw new Error(`${what} is missing, and CI requires it`);
  return true;
}
