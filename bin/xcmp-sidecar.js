#!/usr/bin/env node
// Runs the TypeScript sources through tsx so the command works straight from a clone.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything a command started is closed by now; if a handle still lingers (a socket the node left
// half-open, say), do not linger with it: a failed command must not keep serving.
setTimeout(() => process.exit(code), 2000).unref();
