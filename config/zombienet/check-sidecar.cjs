/**
 * zombienet js-script: asks xcmp-sidecar (over JSON-RPC on HTTP) until every recipient named in the
 * args has at least `minimum` verified messages, and fails on any unverified message or verification
 * failure. Args: the sidecar's port, the minimum, then the recipient para ids. Returns the number
 * of verified messages.
 */

async function rpc(port, method, params) {
  const response = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const answer = await response.json();
  if (answer.error) throw new Error(`${method}: ${answer.error.code} ${answer.error.message}`);
  return answer.result;
}

async function run(_nodeName, _networkInfo, args) {
  const [port, minimum, ...recipients] = args.map(Number);
  for (;;) {
    const status = await rpc(port, 'xcmp_status', []);
    const failures = Object.entries(status.verificationFailures);
    if (failures.length > 0 || status.counts.unverifiedMessages > 0)
      throw new Error(`verification failed: ${JSON.stringify(status.recentFailures)}`);
    const inboxes = await Promise.all(
      recipients.map((recipient) => rpc(port, 'xcmp_getInbox', [recipient, { includeUnverified: true }])),
    );
    const counts = inboxes.map((inbox) => inbox.messages.filter((m) => m.verified).length);
    for (const inbox of inboxes) {
      const unverified = inbox.messages.find((m) => !m.verified);
      if (unverified) throw new Error(`message ${unverified.id} is unverified: ${unverified.reason}`);
    }
    if (counts.every((n) => n >= minimum)) {
      const channels = await rpc(port, 'xcmp_getChannels', [{}]);
      for (const channel of channels) {
        if (channel.verifiedAt < (channel.lastSentAt ?? 0))
          throw new Error(
            `channel ${channel.sender}→${channel.recipient}: MQC head not checked since its last message`,
          );
      }
      console.log(
        `xcmp-sidecar at #${status.synced}: ${recipients.map((r, i) => `${counts[i]} verified to ${r}`).join(', ')}`,
      );
      return counts.reduce((a, b) => a + b, 0);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

module.exports = { run };
