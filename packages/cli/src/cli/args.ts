import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec {
  name: string;
  /** Shown by --help (and after a usage error, its first line). */
  help: string;
  options: Options;
  /** Names of the positional arguments, in order (all required). */
  positionals: string[];
  /** The last positional may be repeated (`serve INDEX [INDEX…]`). */
  repeatLast?: boolean;
}

/**
 * One command module (commands/*.ts): what its command line accepts, and what it does with a
 * parsed one. run.ts owns the prologue every command shares: parsing, --help, usage errors.
 */
export interface CommandModule {
  spec: CommandSpec;
  execute(args: Parsed): Promise<void>;
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
  /** Options in command-line order (name and value), for commands where the order matters. */
  order: { name: string; value: string | undefined }[];
}

/** Options every command takes. */
export const COMMON: Options = {
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean' },
};

const NEGATIVE = /^-(\d|\.\d|inf)/i;

/**
 * util.parseArgs with errors turned into one-line UsageErrors. A value that starts with '-' and
 * looks like a number (`--seed -5`, `--search-k -1`) is taken as the option's value.
 */
export function parseCommand(spec: CommandSpec, argv: string[]): Parsed | 'help' {
  const options = { ...COMMON, ...spec.options };
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    const opt = optionOf(options, a);
    if (opt && options[opt]!.type === 'string' && !a.includes('=') && next !== undefined && NEGATIVE.test(next)) {
      args.push(a.startsWith('--') ? `${a}=${next}` : `--${opt}=${next}`);
      i++;
    } else {
      args.push(a);
    }
  }
  let result;
  try {
    result = parseArgs({ args, options, allowPositionals: true, strict: true, tokens: true });
  } catch (cause) {
    throw new UsageError(`${spec.name}: ${parseArgsMessage(cause as Error & { code?: string })}`);
  }
  if (result.values['help']) return 'help';
  const positionals = result.positionals;
  if (positionals.length < spec.positionals.length) {
    throw new UsageError(`${spec.name}: missing ${spec.positionals.slice(positionals.length).join(' and ')} (see annoy-ts ${spec.name} --help)`);
  }
  if (positionals.length > spec.positionals.length && !spec.repeatLast) {
    throw new UsageError(`${spec.name}: unexpected argument ${JSON.stringify(positionals[spec.positionals.length])} (see annoy-ts ${spec.name} --help)`);
  }
  const order = result.tokens
    .filter((t) => t.kind === 'option')
    .map((t) => ({ name: (t as { name: string }).name, value: (t as { value?: string }).value }));
  return { values: result.values as Parsed['values'], positionals, order };
}

function optionOf(options: Options, arg: string): string | undefined {
  if (arg.startsWith('--')) {
    const name = arg.slice(2);
    return Object.hasOwn(options, name) ? name : undefined;
  }
  if (/^-[a-zA-Z]$/.test(arg)) return Object.keys(options).find((k) => options[k]!.short === arg[1]);
  return undefined;
}

function parseArgsMessage(e: Error & { code?: string }): string {
  const m = e.message;
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const flag = /'([^']+)'/.exec(m)?.[1] ?? m;
      return `unknown option ${flag}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const flag = /--[\w-]+/.exec(m)?.[0] ?? /'(-[^' ,]+)/.exec(m)?.[1] ?? '';
      if (m.includes('argument missing')) return `option ${flag} needs a value`;
      if (m.includes('ambiguous')) return `option ${flag} needs a value (for a value starting with '-', write ${flag}=VALUE)`;
      return `option ${flag} does not take a value`;
    }
    default:
      return m.split('\n')[0];
  }
}

// ---- values -------------------------------------------------------------------------------

export function str(values: Parsed['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function required(values: Parsed['values'], name: string, command: string): string {
  const v = str(values, name);
  if (v === undefined) throw new UsageError(`${command}: --${name} is required (see annoy-ts ${command} --help)`);
  return v;
}

const INTEGER = /^[+-]?\d+$/;

/** An integer option within [min, max]; `special` maps words like "auto" to numbers. */
export function intOption(value: string | undefined, flag: string, min: number, fallback: number, special: Record<string, number> = {}): number {
  if (value === undefined) return fallback;
  const key = value.trim().toLowerCase();
  if (Object.hasOwn(special, key)) return special[key];
  const n = Number(value);
  if (!INTEGER.test(value.trim()) || !Number.isSafeInteger(n)) {
    const words = Object.keys(special);
    throw new UsageError(`--${flag} must be an integer${words.length ? ` or ${words.join('/')}` : ''}, got ${JSON.stringify(value)}`);
  }
  if (n < min && !Object.values(special).includes(n)) throw new UsageError(`--${flag} must be at least ${min}, got ${n}`);
  return n;
}

/** search_k: -1 (Annoy's default), a positive integer, or all/inf (search every tree completely). */
export function searchKOption(value: string, flag = 'search-k'): number {
  const t = value.trim().toLowerCase();
  if (t === '-1') return -1;
  if (t === 'all' || t === 'inf' || t === 'infinity' || t === 'exact') return Infinity;
  if (/^\+?\d+$/.test(t) && Number(t) >= 1 && Number.isSafeInteger(Number(t))) return Number(t);
  throw new UsageError(`--${flag} must be -1 (Annoy's default), a positive integer or "all", got ${JSON.stringify(value)}`);
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SPECIAL = /^[+-]?(nan|inf|infinity)$/i;

/**
 * Parses one number written by a person: decimal or exponent notation. "nan" and "inf" parse (to
 * NaN and ±Infinity) so that checkValue can say what is wrong; anything else ('', '0x10', 'abc')
 * gives null.
 */
export function parseNumber(text: string): number | null {
  const t = text.trim();
  if (NUMBER.test(t)) return Number(t);
  if (SPECIAL.test(t)) return /nan/i.test(t) ? NaN : t.startsWith('-') ? -Infinity : Infinity;
  return null;
}

const F32_MAX = 3.4028234663852886e38;

/** A vector component as text → a finite number that fits float32, or an Error naming `where`. */
export function parseValue(text: string, where: string, ErrorClass: new (m: string) => Error): number {
  const x = parseNumber(text);
  if (x === null) throw new ErrorClass(`${where}: ${JSON.stringify(text.length > 40 ? text.slice(0, 40) + '…' : text)} is not a number`);
  checkValue(x, where, ErrorClass);
  return x;
}

/** Throws unless x is finite and within float32's range. */
export function checkValue(x: number, where: string, ErrorClass: new (m: string) => Error): void {
  if (Number.isNaN(x)) throw new ErrorClass(`${where}: NaN cannot be indexed`);
  if (!Number.isFinite(x)) throw new ErrorClass(`${where}: ${x} cannot be indexed (only finite numbers)`);
  if (Math.abs(x) > F32_MAX) throw new ErrorClass(`${where}: ${x} overflows float32 (largest finite value ≈ 3.4e38)`);
}
