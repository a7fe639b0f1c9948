/** The command line itself is wrong (unknown flag, bad number, missing argument): exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command line is fine but the work failed (missing file, bad data, mismatch): exit code 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}
