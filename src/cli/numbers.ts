/** Numbers on the command line, read as the node reads its flags. */
import { CliError } from './errors.ts';

/**
 * A decimal integer from `min` to `max`: digits only, as the node's flags take them (no `1e3`,
 * `0x10`, sign or spaces, which `Number()` would quietly accept). Else exit 2 naming the flag.
 */
export function integerFlag(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
  what = `an integer from ${min} to ${max}`,
): number {
  const n = value !== undefined && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new CliError(`${flag} must be ${what}, got ${JSON.stringify(value ?? '')}`);
  return n;
}

export const U32_MAX = 0xffffffff;
