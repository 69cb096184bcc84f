/** `npm run bench`: every benchmark, or the ones named on the command line (e.g. `npm run bench -- decode`). */
import { benchAbuse } from './abuse.ts';
import { benchDecode } from './decode.ts';
import { benchDevnet } from './devnet.ts';
import { benchFederation } from './federation.ts';
import { benchGrandpa } from './grandpa.ts';
import { benchIngest, benchStore } from './ingest.ts';
import { benchJourney } from './journey.ts';
import { benchMesh } from './mesh.ts';
import { benchNotify } from './notify.ts';
import { benchPapi } from './papi.ts';
import { benchPeer } from './peer.ts';
import { benchPending } from './pending.ts';
import { benchProof } from './proof.ts';
import { benchProxy } from './proxy.ts';
import { benchScale } from './scale.ts';
import { benchSpeculative } from './speculative.ts';

const benches: Record<string, () => Promise<void>> = {
  abuse: benchAbuse,
  decode: benchDecode,
  devnet: benchDevnet,
  federation: benchFederation,
  grandpa: benchGrandpa,
  ingest: benchIngest,
  journey: benchJourney,
  mesh: benchMesh,
  notify: benchNotify,
  papi: benchPapi,
  peer: benchPeer,
  pending: benchPending,
  proof: benchProof,
  proxy: benchProxy,
  scale: benchScale,
  speculative: benchSpeculative,
  store: benchStore,
};
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benches));
if (unknown.length > 0)
  throw new Error(`unknown benchmark(s) ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}`);
for (const [name, run] of Object.entries(benches)) {
  if (wanted.length === 0 || wanted.includes(name)) await run();
}
