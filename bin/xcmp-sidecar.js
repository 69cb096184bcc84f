#!/usr/bin/env node
// Runs the built JavaScript (dist/, made by `npm run build`, which `npm install` runs as `prepare`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('error: dist/main.js is missing: run `npm install` (or `npm run build`) first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything a command started is closed by now; if a handle still lingers (a socket the node left
// half-open, say), do not linger with it: a failed command must not keep serving.
setTimeout(() => process.exit(code), 2000).unref();
