/** `npm run docs`: writes docs/api.md and docs/openrpc.json from the contract. */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiMarkdown, openRpcDocument } from './docs.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(join(root, 'docs/api.md'), apiMarkdown());
writeFileSync(join(root, 'docs/openrpc.json'), `${JSON.stringify(openRpcDocument(), null, 2)}\n`);
console.log('wrote docs/api.md and docs/openrpc.json');
