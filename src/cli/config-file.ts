/**
 * Configuration for the sidecar from three places, in order of precedence: command-line flags,
 * `XCMP_*` environment variables, then a JSON file given with `--config` (keys are the flags' names
 * in camelCase or as written, e.g. "rpcMaxConnections" or "rpc-max-connections").
 */
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { CliError } from './errors.ts';

export function envName(option: Option): string {
  return `XCMP_${option
    .attributeName()
    .replace(/[A-Z]/g, (c) => `_${c}`)
    .toUpperCase()}`;
}

/** An option with its `XCMP_*` environment form (`--rpc-max-connections` → `XCMP_RPC_MAX_CONNECTIONS`). */
export function envOption(flags: string, description: string, defaultValue?: string): Option {
  const option = new Option(flags, description);
  if (defaultValue !== undefined) option.default(defaultValue);
  return option.env(envName(option));
}

const camel = (key: string) => key.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Applies the `--config` file to every option still at its default (flags and env win). Returns the
 * fields it applied, by option name, as the file spells them.
 */
export function applyConfigFile(command: Command, path: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(
      code
        ? `cannot read config file ${path}: ${code === 'ENOENT' ? 'no such file' : code}`
        : `config file ${path} is not JSON: ${(error as Error).message}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new CliError(`config file ${path} must hold a JSON object`);
  const options = new Map(command.options.filter((o) => o.long).map((o) => [o.attributeName(), o]));
  const applied = new Map<string, string>();
  for (const [key, value] of Object.entries(parsed)) {
    const name = camel(key);
    const option = options.get(name);
    if (!option || name === 'config' || name === 'help') {
      throw new CliError(
        `config file ${path}: unknown field "${key}" (fields are the flags of \`xcmp-sidecar --help\`)`,
      );
    }
    const list = Array.isArray(value) && value.every((item) => typeof item === 'string');
    if (!list && !['string', 'number', 'boolean'].includes(typeof value))
      throw new CliError(
        `config file ${path}: field "${key}" must be a string, number, boolean or list of strings`,
      );
    const source = command.getOptionValueSource(name);
    if (source === undefined || source === 'default') {
      // A list is what a repeated flag is: its items comma-separated (--para, --peer).
      command.setOptionValueWithSource(name, list ? (value as string[]).join(',') : String(value), 'config');
      applied.set(name, key);
    }
  }
  return applied;
}

/**
 * A refusal of a value that came from the config file, said in the file's terms: `config file F:
 * field "port" must be …` rather than `--port must be …`, which the user never typed.
 */
export function inConfigTerms(error: unknown, path: string, applied: ReadonlyMap<string, string>): unknown {
  if (!(error instanceof CliError)) return error;
  const match = /^(--[a-z0-9-]+) ([\s\S]*)$/.exec(error.message);
  const field = match ? applied.get(camel(match[1]!)) : undefined;
  if (!match || field === undefined) return error;
  return new CliError(`config file ${path}: field "${field}" ${match[2]}`, error.exitCode);
}
