/** `npm run bench`: every benchmark, or the ones named on the command line (e.g. `npm run bench -- decode`). */
import { benchDecode } from './decode.ts';
import { benchDevnet } from './devnet.ts';
import { benchIngest } from './ingest.ts';

const benches: Record<string, () => Promise<void>> = {
  decode: benchDecode,
  devnet: benchDevnet,
  ingest: benchIngest,
};
const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(benches)) {
  if (wanted.length === 0 || wanted.includes(name)) await run();
}
