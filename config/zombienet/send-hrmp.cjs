/**
 * zombienet js-script, run on a parachain collator: Alice sends `count` XCM programs to the
 * parachain `target` with `polkadotXcm.send`. A signed origin may send, so the message always
 * leaves over the HRMP channel, whatever the recipient then makes of it. Args: target, count.
 * Returns how many sends were included with an `XcmpQueue.XcmpMessageSent` event.
 *
 * `zombie` is the global zombienet gives js-scripts (ApiPromise, Keyring, util, connect).
 */
/* global zombie */

/** The newest XCM version both this runtime and this script know. */
function xcmVersion(api) {
  const typeName = api.tx.polkadotXcm.send.meta.args[0].type.toString();
  const known = ['V3', 'V4', 'V5'];
  const variants = api.registry.createType(typeName).defKeys.filter((v) => known.includes(v));
  if (variants.length === 0) throw new Error(`no known XCM version in ${typeName}`);
  return variants[variants.length - 1];
}

async function run(nodeName, networkInfo, args) {
  const target = Number(args[0]);
  const count = Number(args[1] ?? 1);
  const { wsUri, userDefinedTypes } = networkInfo.nodesByName[nodeName];
  const api = await zombie.connect(wsUri, userDefinedTypes);
  await zombie.util.cryptoWaitReady();
  const alice = new zombie.Keyring({ type: 'sr25519' }).addFromUri('//Alice');
  const version = xcmVersion(api);
  const parachain = { Parachain: target };
  const dest = { [version]: { parents: 1, interior: { X1: version === 'V3' ? parachain : [parachain] } } };
  let sent = 0;
  for (let i = 0; i < count; i++) {
    const message = {
      [version]: [{ ClearOrigin: null }, { SetTopic: `0x${String(i + 1).padStart(64, '0')}` }],
    };
    const events = await new Promise((resolve, reject) => {
      api.tx.polkadotXcm
        .send(dest, message)
        .signAndSend(alice, ({ status, dispatchError, events }) => {
          if (dispatchError) reject(new Error(`polkadotXcm.send failed: ${dispatchError.toString()}`));
          else if (status.isInBlock) resolve(events);
        })
        .catch(reject);
    });
    if (events.some(({ event }) => event.section === 'xcmpQueue' && event.method === 'XcmpMessageSent'))
      sent++;
  }
  await api.disconnect();
  console.log(`${nodeName}: ${sent} of ${count} XCM programs left for parachain ${target} over HRMP`);
  return sent;
}

module.exports = { run };
