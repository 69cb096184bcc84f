/** A JSON file named by a flag, read for a command; what goes wrong is a CliError naming the flag. */
import { readFileSync } from 'node:fs';
import { CliError } from './errors.ts';

export function readJsonFile(path: string, flag: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(code ? `cannot read ${flag} ${path}: ${code}` : `${flag} ${path} is not JSON`);
  }
}
