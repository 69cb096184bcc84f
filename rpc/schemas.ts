/**
 * The wire types of the xcmp_* API, as zod schemas: params are validated with them, results are
 * described by them (docs/api.md and docs/openrpc.json are generated from these), and the
 * TypeScript types are inferred from them so code, docs and checks cannot drift apart.
 */
import { z } from 'zod';

/** `decode: true`: what each message's `xcm` holds. */
const XCM_DESCRIPTION =
  "decode: true: {format, programs (each VersionedXcm decoded), ids: per program {version, instructions, messageHash (blake2_256 of its encoding: the sender's XcmpMessageSent.message_hash), topic (a trailing SetTopic, else null), id (the topic where present, else messageHash: what the receiver's MessageQueue events name it by)}}; {format, payload} for blobs and signals; {error} for a page that does not decode (the message is still served)";

export const ParaId = z.number().int().min(0).max(0xffffffff).describe('parachain id (u32)');
export const BlockNumber = z.number().int().min(0).max(0xffffffff).describe('relay block number (u32)');
export const HexString = z
  .string()
  .regex(/^0x[0-9a-f]*$/)
  .describe('0x-prefixed lowercase hex');
export const Hash = z
  .string()
  .regex(/^0x[0-9a-f]{64}$/)
  .describe('32-byte hash, hex');

export const Finality = z.enum(['finalized', 'best']);
/**
 * Mailbox subscriptions also follow candidates from their backing (DESIGN.md §10), and sending
 * chains' para blocks from their import by an attached para node (§13).
 */
export const MailboxFinality = z.enum(['finalized', 'best', 'pending', 'speculative']);
export const DropReason = z
  .enum(['timedOut', 'retracted', 'replaced', 'notEnacted'])
  .describe(
    '"timedOut": CandidateTimedOut; "retracted": its backing block left the best chain; "replaced": that, and the new best chain backs another candidate of the para at the same height; "notEnacted": it was freed (a dispute concluded against it, or its core was given to another candidate), or the runtime\'s availability timeout (ActiveConfig: group_rotation_frequency + paras_availability_period) passed, without enactment or time-out',
  );

export const WithdrawReason = z
  .enum(['paraFork', 'leftBestChain', 'notBacked'])
  .describe(
    '"paraFork": the relay best chain backed another block of the para at that height (or a descendant of one); "leftBestChain": the para node\'s own best chain went past it on another branch, or it finalized another block at that height; "notBacked": no candidate carrying it was backed on the relay best chain within the window (--speculative-window relay blocks of its announcement)',
  );

/** How many messages one answer may be asked for. */
const MessageLimit = z.number().int().min(1).max(10_000);

export const MessageQueryOptions = z
  .strictObject({
    fromBlock: BlockNumber.optional().describe('first sentAt to include'),
    toBlock: BlockNumber.optional().describe('last sentAt to include'),
    finalized: z
      .boolean()
      .optional()
      .describe('only finalized blocks (the store holds only those; default true)'),
    decode: z.boolean().optional().describe('add the decoded XCM programs'),
    includeUnverified: z.boolean().optional().describe('also return messages that failed verification'),
    limit: MessageLimit.optional().describe('at most this many messages (default 1000)'),
    proof: z
      .boolean()
      .optional()
      .describe(
        'xcmp_getInbox only: add an InboxProof at the last block the messages are complete to (toBlock, or the cursor; earlier when limit cuts a block off)',
      ),
    finalityProof: z
      .boolean()
      .optional()
      .describe("with proof: the proof's header also gets its GRANDPA finality proof (proof.finality)"),
  })
  .describe('message query options');

const BlockRefInput = z.strictObject({ number: BlockNumber, hash: Hash });

export const SubscriptionOptions = z
  .strictObject({
    finality: MailboxFinality.optional().describe(
      '"finalized" (default); "best" (with retracted updates on reorg); "pending": as best, plus "pending" updates at backing and one "messages" or "dropped" for each pending message; "speculative": as pending, plus a "speculative" update per para block an attached para node (--para) imports that sends to (inbox) or from (outbox) the para, and for each of its messages "withdrawn", "contradicted" or the pending lifecycle once its candidate is backed (docs/speculative.md)',
    ),
    fromBlock: BlockNumber.optional().describe(
      'replay every stored message from this sentAt before live updates (best/pending: then the best chain above the stored block, then the candidates still pending)',
    ),
    decode: z.boolean().optional(),
    includeUnverified: z.boolean().optional(),
    proof: z
      .boolean()
      .optional()
      .describe(
        'xcmp_subscribeInbox, finalized only: every update carries an InboxProof; the first update is at the current block (with the replay when fromBlock is given), and a "proof" update with no messages comes at least every 10 blocks',
      ),
    finalityProof: z
      .boolean()
      .optional()
      .describe(
        "with proof: each update's proof also carries the GRANDPA finality proof of its header (proof.finality), so a client that holds only a checkpoint can check it (docs/finality.md)",
      ),
    markFinalized: z
      .boolean()
      .optional()
      .describe(
        'best/pending only: also send a "finalized" update (no messages) at the stored block when subscribing, and whenever a block whose messages you were sent is finalized: where to resume from (docs/resume.md)',
      ),
    include: z
      .array(z.enum(['delivery']))
      .max(1)
      .optional()
      .describe(
        '["delivery"]: also a "delivery" update each time a journey of an XCM of this mailbox gets a receiving stage or is verified (the receiving para\'s node attached with --para; live only, not replayed; docs/journey.md)',
      ),
    resume: z
      .strictObject({
        known: z
          .array(BlockRefInput)
          .max(256)
          .describe('best blocks from fromBlock on whose messages you were sent and not retracted'),
        open: z
          .array(Hash)
          .max(1024)
          .describe(
            'candidates announced pending and not yet dropped or enacted in a block before fromBlock',
          ),
      })
      .optional()
      .describe(
        'best/pending with fromBlock: what you already hold. Blocks of `known` still on the chain are not sent again, those that left it are retracted ("retracted", messages as this sidecar knows them, possibly none), `open` candidates are not announced again, and those that will not be enacted any more are dropped',
      ),
  })
  .describe('subscription options');

export const BlockRef = z.strictObject({ number: BlockNumber, hash: Hash });

export const Message = z.strictObject({
  id: z.string().describe('"<sentAt>-<sender>-<recipient>-<index>"'),
  sender: ParaId,
  recipient: ParaId,
  sentAt: BlockNumber.describe('relay block that enacted the sending candidate'),
  index: z.number().int().describe("position among the channel's messages with this sentAt"),
  position: z
    .number()
    .int()
    .optional()
    .describe("position among the sending candidate's horizontal messages (absent for history from peers)"),
  data: HexString.describe('the message bytes (XCMP format byte first)'),
  hash: Hash.describe('blake2_256(data)'),
  candidateHash: Hash,
  blockHash: Hash.describe('hash of block sentAt'),
  mqcHead: Hash.describe("the channel's MQC head after this message"),
  verified: z.boolean(),
  reason: z.string().nullable().describe('why it is not verified'),
  xcm: z.unknown().optional().describe(XCM_DESCRIPTION),
  source: z
    .literal('peer')
    .optional()
    .describe("accepted from a peer sidecar (federation): its MQC head proven by this sidecar's own node"),
  peer: z.string().optional().describe('the peer it came from (source "peer")'),
  claimed: z
    .array(z.string())
    .optional()
    .describe('fields the MQC head does not prove, as the peer claimed them (source "peer")'),
});

export const PendingMessage = z
  .strictObject({
    candidateHash: Hash,
    position: z.number().int().describe("position among the candidate's horizontal messages"),
    sender: ParaId,
    recipient: ParaId,
    data: HexString,
    hash: Hash.describe('blake2_256(data)'),
    xcm: z.unknown().optional().describe(XCM_DESCRIPTION),
    paraHead: Hash.optional().describe(
      "blake2_256 of the candidate's head data: for a cumulus chain the hash of the para block it carries, as in a speculative update's paraBlock",
    ),
    sent: z
      .array(z.strictObject({ eventIndex: z.number().int(), messageHash: Hash }))
      .optional()
      .describe(
        "when the sender's node announced that block (--para): its XcmpQueue.XcmpMessageSent events of this message's XCMs, as the node said",
      ),
  })
  .describe('a message of a backed candidate, before enactment gives it sentAt, id and mqcHead');

export const SpeculativeMessage = z
  .strictObject({
    sender: ParaId,
    recipient: ParaId,
    position: z
      .number()
      .int()
      .describe("position among the para block's outgoing messages: the candidate's position once backed"),
    data: HexString,
    hash: Hash.describe('blake2_256(data)'),
    verified: z.literal(false).describe('a para node said so; nothing is checked until backing'),
    xcm: z.unknown().optional().describe(XCM_DESCRIPTION),
  })
  .describe('a message a para node says one of its blocks sends (ParachainSystem::HrmpOutboundMessages)');

export const InboxProof = z
  .strictObject({
    block: BlockRef.describe('the block the proof is at'),
    header: HexString.describe("the block's SCALE-encoded header: blake2_256(header) is its hash"),
    nodes: z
      .array(HexString)
      .describe(
        "trie nodes (state_getReadProof) proving Hrmp::HrmpIngressChannelsIndex(recipient) and Hrmp::HrmpChannels(sender, recipient) of every sender in it, under the header's state root",
      ),
    finality: HexString.optional().describe(
      'with finalityProof: true, when the node has one: SCALE FinalityProof { block, justification, unknown_headers } as grandpa_proveFinality answers it: a GRANDPA justification of this block or a later one of its set, and the headers between',
    ),
  })
  .describe('relay storage proof of every inbound channel head (see docs/trust-model.md)');

export const ChannelHistoryOptions = z
  .strictObject({
    fromBlock: BlockNumber.describe('first sentAt wanted'),
    toBlock: BlockNumber.optional().describe('last sentAt wanted (default: the last stored block)'),
    limit: MessageLimit.optional().describe(
      'at most this many messages (default 1000); a block is never cut in two',
    ),
  })
  .describe('channel history range');

export const HistoryMessage = z.strictObject({
  sentAt: BlockNumber,
  data: HexString,
  mqcHead: Hash.describe("the channel's MQC head after this message"),
  candidateHash: Hash.describe('not proven by the head'),
  blockHash: Hash.describe('not proven by the head'),
});

export const ChannelHistory = z
  .strictObject({
    sender: ParaId,
    recipient: ParaId,
    fromBlock: BlockNumber.describe(
      'first block covered (later than asked when this sidecar holds no earlier history)',
    ),
    toBlock: BlockNumber.describe(
      'last block covered: every message up to it is here; ask again from toBlock + 1',
    ),
    startHead: Hash.nullable().describe(
      "the channel's MQC head just before fromBlock (null: no message yet)",
    ),
    messages: z.array(HistoryMessage),
  })
  .describe('one page of a channel history, for a peer to check against its own node (docs/federation.md)');

export const Mailbox = z.strictObject({
  paraId: ParaId,
  at: BlockRef.nullable().describe('the last block the store holds'),
  watermark: BlockNumber.nullable().describe("the recipient's HRMP watermark (inbox)"),
  messages: z.array(Message),
  mqcHeads: z.record(z.string(), Hash.nullable()).describe('channel MQC heads, by the other para'),
  proof: InboxProof.optional().describe('with proof: true'),
});

export const Channel = z.strictObject({
  sender: ParaId,
  recipient: ParaId,
  maxCapacity: z.number().int(),
  maxTotalSize: z.number().int(),
  maxMessageSize: z.number().int(),
  msgCount: z.number().int(),
  totalSize: z.number().int(),
  mqcHead: Hash.nullable(),
  verifiedAt: BlockNumber.describe('last block where the stored head equalled the chain'),
  lastSentAt: BlockNumber.nullable(),
});

export const CandidateStatus = z
  .enum(['backed', 'included', 'timedOut', 'freed'])
  .describe(
    '"freed": dropped from pending availability without enactment or time-out (a dispute concluded against it, or its core was given to another candidate)',
  );

export const Candidate = z.strictObject({
  candidateHash: Hash,
  paraId: ParaId,
  descriptor: HexString,
  descriptorVersion: z
    .enum(['v1', 'v2', 'v3', 'unknown'])
    .describe('as the runtime tells it (docs/verification.md#descriptor-versions)'),
  scheduling: z
    .strictObject({ parent: Hash, sessionOffset: z.number().int() })
    .nullable()
    .describe('v3 descriptors: the scheduling parent and scheduling session offset; null otherwise'),
  commitmentsHash: Hash,
  relayParent: Hash,
  backedIn: BlockNumber,
  coreIndex: z.number().int().nullable(),
  status: CandidateStatus,
  enactedIn: BlockNumber.nullable(),
  settledIn: BlockNumber.nullable().describe(
    'the block that included, timed out or freed it; null while backed',
  ),
  verified: z.boolean(),
  reason: z.string().nullable(),
  availability: z.strictObject({ votes: z.number().int(), threshold: z.number().int() }),
  messages: z.array(Message),
});

const MeshBytes = z.number().int().min(0);

export const MeshStatus = z.strictObject({
  key: Hash.describe("this member's ed25519 public key"),
  index: z.number().int().describe('its index among the members (sorted by key)'),
  n: z.number().int().describe('members'),
  k: z.number().int().describe('chunks that give a slice back: ⌊(n − 1)/3⌋ + 1'),
  fullRetention: z.number().int().describe('blocks kept in full before they are kept as chunks'),
  agedUpTo: z.number().int().describe('blocks up to this one are kept as chunks (0: none yet)'),
  sizes: z
    .strictObject({
      slices: z.number().int(),
      agedUpTo: z.number().int(),
      fullBytes: MeshBytes.describe('what the aged messages took in full: data and four 32-byte hashes each'),
      chunkBytes: MeshBytes.describe("this member's chunks"),
      rootBytes: MeshBytes.describe('erasure roots and Merkle branches'),
      headBytes: MeshBytes.describe("senders' MQC heads around each aged block"),
    })
    .describe('bytes of aged history: in full, and as this member keeps it'),
  badChunks: z.number().int().describe('chunks members sent that did not prove against the erasure root'),
  meshOnly: z.boolean().describe('no relay node: every block comes from the members, proven (--mesh-only)'),
  pushed: z
    .record(z.string(), z.strictObject({ blocks: z.number().int(), bytes: z.number().int() }))
    .describe(
      'plain slices pushed and taken delivery of, by member key: blocks and JSON bytes (a member with a node)',
    ),
  refusedBlocks: z.number().int().describe('blocks members pushed that were refused: forged, or not proven'),
  feed: z
    .strictObject({
      cursor: z.number().int().nullable(),
      heard: z.number().int().nullable().describe('the highest block a member pushed or answered'),
      accepted: z.number().int(),
      duplicates: z.number().int().describe('copies of stored blocks (one comparison each)'),
      refused: z.number().int(),
      lastRefusal: z.string().nullable(),
      linked: z.boolean().describe('a link to some member is up'),
    })
    .nullable()
    .describe('--mesh-only: the blocks taken from the members'),
  peers: z.array(
    z.strictObject({
      key: Hash,
      url: z.string(),
      index: z.number().int(),
      connected: z.boolean(),
      lastError: z.string().nullable(),
    }),
  ),
});

export const MeshChunksRequest = z
  .strictObject({
    recipient: ParaId,
    blocks: z.array(BlockNumber).min(1).max(256).describe('the aged blocks whose slices are wanted'),
    member: Hash.describe("the asking member's public key"),
    at: z.number().int().min(0).describe('when it signed (ms since 1970); refused outside ±5 minutes'),
    signature: HexString.describe('ed25519 over "xcmp-mesh|xcmp_meshChunks|recipient:b1,b2,…|at"'),
  })
  .describe("a mesh member's signed request for chunks");

const SignedBy = {
  member: Hash.describe("the asking member's public key"),
  at: z.number().int().min(0).describe('when it signed (ms since 1970); refused outside ±5 minutes'),
  signature: HexString,
};

const PushedRecipient = z.strictObject({
  recipient: ParaId,
  nodes: z.array(HexString).max(4096).describe("trie nodes proving the recipient's inbound channels"),
  messages: z
    .array(
      z.strictObject({
        sender: ParaId,
        candidateHash: Hash.describe('not proven by the head'),
        position: z.number().int().min(0).optional(),
        data: HexString,
      }),
    )
    .max(10_000),
});

export const PushedBlock = z.strictObject({
  block: BlockRef,
  header: HexString.describe("the block's SCALE header"),
  finality: HexString.nullable().describe(
    'SCALE FinalityProof of the header (grandpa_proveFinality), or null',
  ),
  recipients: z.array(PushedRecipient).max(1024),
});

export const MeshPushRequest = PushedBlock.extend(SignedBy).describe(
  'a member\'s finalized block, signed over "xcmp-mesh|xcmp_meshPush|number:hash|at"',
);

export const MeshPushAnswer = z
  .strictObject({ accepted: z.boolean(), reason: z.string().optional() })
  .describe('taken (a member without a node, once proven), or why not');

export const MeshBlocksRequest = z
  .strictObject({
    fromBlock: BlockNumber.nullable().describe('the first block wanted (null: the newest stored)'),
    limit: z.number().int().min(1).max(16),
    ...SignedBy,
  })
  .describe(
    'a member\'s signed request for blocks it missed, signed over "xcmp-mesh|xcmp_meshBlocks|fromBlock|at" (0 for null)',
  );

export const MeshBlocks = z.strictObject({ blocks: z.array(PushedBlock) });

export const MeshChunks = z
  .strictObject({
    chunks: z.array(
      z.strictObject({
        block: BlockNumber,
        index: z.number().int().describe("the answering member's index: its chunk"),
        chunk: HexString,
        branch: z.array(Hash).describe('Merkle branch of the chunk under the erasure root, leaf up'),
        root: Hash.describe("the answering member's erasure root (the asker checks against its own)"),
      }),
    ),
  })
  .describe("a member's chunks of the slices it holds among those asked");

export const Status = z.strictObject({
  node: z.strictObject({ url: z.string(), connected: z.boolean() }),
  chain: z.string().nullable(),
  finalized: BlockNumber.nullable(),
  best: BlockNumber.nullable(),
  synced: BlockNumber.nullable().describe('last finalized block stored'),
  lag: z.number().int().nullable().describe('finalized - synced'),
  counts: z.strictObject({
    blocks: z.number().int(),
    messages: z.number().int(),
    unverifiedMessages: z.number().int(),
    candidates: z.number().int(),
  }),
  verificationFailures: z.record(z.string(), z.number().int()),
  recentFailures: z.array(
    z.strictObject({
      blockNumber: BlockNumber,
      kind: z.string(),
      reason: z.string(),
      paraId: ParaId.nullable(),
    }),
  ),
  lastError: z.string().nullable(),
  inbound: z
    .strictObject({
      mode: z.enum(['store', 'node', 'shadow']),
      checked: z.number().int(),
      mismatches: z.number().int(),
      fallbacks: z.number().int(),
    })
    .describe('ParachainHost_inbound_hrmp_channels_contents: how it is served, shadow comparisons'),
  federation: z
    .strictObject({
      peers: z.array(
        z.strictObject({
          url: z.string(),
          accepted: z.number().int().describe('channels whose history from this peer proved out'),
          rejected: z
            .number()
            .int()
            .describe('channel answers rejected (lying, stale, incomplete, unreachable)'),
          lastRejection: z.string().nullable(),
        }),
      ),
      unproven: z.array(z.string()).describe('channels ("sender>recipient") no peer could prove'),
      gaps: z
        .array(z.strictObject({ from: BlockNumber, to: BlockNumber }))
        .describe('ranges the node had pruned when the store resumed, bridged from peers'),
    })
    .nullable()
    .describe('history from peers (--peer); null without peers'),
  mesh: MeshStatus.nullable()
    .optional()
    .describe('the availability mesh (--mesh-key); null without (docs/mesh.md)'),
  paraNodes: z
    .array(
      z.strictObject({
        url: z.string(),
        paraId: ParaId.nullable().describe(
          'read from the node (ParachainInfo::ParachainId); null until then',
        ),
        state: z
          .enum(['connecting', 'following', 'refused', 'stopped'])
          .describe(
            '"refused": not followed (not a parachain, or a second node of one para: lastError says)',
          ),
        connected: z.boolean(),
        best: z.number().int().nullable().describe("the para node's best block number"),
        finalized: z.number().int().nullable(),
        blocks: z.number().int().describe('para blocks read and announced since start'),
        contradictions: z.number().int().describe('para blocks a backed candidate contradicted'),
        deliveryChecks: z
          .number()
          .int()
          .describe(
            'para blocks whose LastHrmpMqcHeads were checked against the verified messages they consumed',
          ),
        deliveryMismatches: z
          .number()
          .int()
          .describe('of those, blocks whose heads differ from the relay chain (a lying or broken node)'),
        journeys: z
          .strictObject({
            delivered: z.number().int(),
            executed: z.number().int(),
            failed: z.number().int(),
            overweight: z.number().int(),
            retracted: z.number().int(),
            unverifiable: z
              .number()
              .int()
              .describe('stages that did not prove under the included block (a lying or broken node)'),
            deliveryMismatches: z.number().int(),
            stuck: z.number().int().describe('journeys to this para stuck now (--stuck-after)'),
            verifiedBlocks: z
              .number()
              .int()
              .describe('receiving blocks whose stages were checked by a read proof'),
            waiting: z
              .number()
              .int()
              .describe(
                'blocks its node announced whose watermark block the store holds and that the sidecar has yet to follow: the sidecar is behind',
              ),
          })
          .describe("journey stages seen in this para's blocks as the receiver (docs/journey.md)"),
        lastError: z.string().nullable(),
      }),
    )
    .describe(
      "parachains' nodes attached with --para: senders (docs/speculative.md) and receivers (docs/journey.md); empty without",
    ),
});

export const MailboxUpdate = z.strictObject({
  type: z
    .enum([
      'messages',
      'retracted',
      'proof',
      'pending',
      'dropped',
      'finalized',
      'speculative',
      'withdrawn',
      'contradicted',
      'delivery',
    ])
    .describe(
      '"delivery" (include: ["delivery"]): a journey of an XCM of this mailbox got a receiving stage (`stage`, `journey`; block is the relay block that enacted it, paraBlock the receiving block); "retracted": a best block you were sent left the best chain; "proof": no messages, only the proof at block (proof: true); "pending": messages of candidates backed in block (in `pending`); "dropped": pending messages that will not be enacted (in `pending`, with `reason`; `candidateHash` names the candidate); "finalized": no messages, block is final (markFinalized); "speculative": messages a para node says its block paraBlock sends (in `speculative`; block is the relay best head then); "withdrawn": speculative messages that no candidate will carry (`reason`); "contradicted": a candidate backed in block for paraBlock carries other messages than its node announced (`speculative`: what it announced; `pending`: what the candidate carries, announced as pending next)',
    ),
  finality: MailboxFinality,
  block: BlockRef,
  messages: z.array(Message),
  pending: z
    .array(PendingMessage)
    .optional()
    .describe('"pending" and "dropped" updates; "contradicted": what the backed candidate carries'),
  sent: z
    .array(z.strictObject({ eventIndex: z.number().int(), messageHash: Hash }))
    .optional()
    .describe(
      '"speculative", "withdrawn" and "contradicted" updates: the para block\'s XcmpQueue.XcmpMessageSent events as its node says (message_hash of each XCM it sends, to any recipient: the messageHash of xcm.ids with decode: true)',
    ),
  speculative: z
    .array(SpeculativeMessage)
    .optional()
    .describe('"speculative", "withdrawn" and "contradicted" updates: what the para node announced'),
  paraBlock: BlockRef.optional().describe(
    '"speculative", "withdrawn" and "contradicted" updates: the sending chain\'s block (number, hash)',
  ),
  reason: DropReason.or(WithdrawReason).optional().describe('"dropped" and "withdrawn" updates'),
  stage: z
    .string()
    .optional()
    .describe(
      '"delivery" updates: the journey stage added (delivered, executed, failed, overweight, deliveryMismatch, unverifiable, retracted, stuck) or "verified"',
    ),
  journey: z
    .lazy(() => Journey)
    .optional()
    .describe(
      '"delivery" updates (include: ["delivery"]): the journey of one XCM of the mailbox, as xcmp_getJourney gives it',
    ),
  candidateHash: Hash.optional().describe(
    '"dropped" updates: the candidate whose messages will not be enacted; "contradicted": the candidate backed for paraBlock',
  ),
  detail: z.string().optional().describe('"dropped", "withdrawn" and "contradicted" updates: what happened'),
  proof: InboxProof.optional().describe('with proof: true: the proof at block'),
});

export const CandidateSubscriptionOptions = z
  .strictObject({
    paraId: ParaId.optional(),
    finality: Finality.optional().describe(
      '"finalized" (default) or "best" (with retracted updates on reorg)',
    ),
    fromBlock: BlockNumber.optional().describe(
      'first replay the stored candidates backed or settled from this block (best: then the best chain above the stored block)',
    ),
  })
  .describe('candidate subscription options');

export const CandidateUpdate = z.strictObject({
  type: z
    .enum(['backed', 'availability', 'included', 'timedOut', 'freed', 'retracted'])
    .describe(
      '"freed": it left pending availability without enactment or time-out (see Candidate.status); "retracted": the block of an update you were sent left the best chain (finality "best")',
    ),
  finality: Finality,
  block: BlockRef,
  candidate: Candidate.omit({ messages: true }),
});

const ParaBlock = z.strictObject({ number: z.number().int().min(0), hash: Hash }).describe('a para block');
const JourneyStageName = z.enum([
  'sent',
  'speculative',
  'backed',
  'enacted',
  'finalized',
  'delivered',
  'executed',
  'failed',
  'overweight',
  'retracted',
  'deliveryMismatch',
  'unverifiable',
  'stuck',
]);

export const JourneyStage = z
  .strictObject({
    stage: JourneyStageName.describe(
      '"sent": the sending para block and its XcmpQueue.XcmpMessageSent event (the sender\'s node attached); "speculative": when that node announced the block; "backed": the relay block that backed the candidate carrying it; "enacted": the relay block that enacted the sending candidate; "finalized": that block is final (the store holds finalized blocks, so both come together); "delivered": the receiving para block whose HrmpWatermark moved past sentAt; "executed" / "failed" / "overweight": the receiver\'s MessageQueue verdict (Processed with success true / Processed with success false or ProcessingFailed / OverweightEnqueued); "retracted": the receiving block of stage `of` left the para\'s chain; "deliveryMismatch": the receiving block\'s LastHrmpMqcHeads differ from the relay chain\'s; "unverifiable": stage `of` did not prove under the included block\'s state root (`reason`); "stuck": not delivered after --stuck-after blocks of the receiving para were included since its enactment (a receiver that does not consume, or a node that lags: `reason`)',
    ),
    at: z.number().int().describe('when the sidecar saw it (ms since the epoch)'),
    verified: z
      .boolean()
      .describe(
        '"enacted": its message\'s MQC proof held; receiving stages: proven by state_getReadProof under the receiving block\'s header, once a finalized relay block included it',
      ),
    relayBlock: BlockNumber.optional(),
    paraBlock: ParaBlock.optional(),
    candidateHash: Hash.optional(),
    mqcHead: Hash.optional(),
    watermark: BlockNumber.optional(),
    eventIndex: z
      .number()
      .int()
      .optional()
      .describe("position of the event record in the block's System::Events"),
    event: z.string().optional(),
    weightUsed: z.strictObject({ refTime: z.string(), proofSize: z.string() }).nullable().optional(),
    error: z.unknown().optional(),
    of: JourneyStageName.optional(),
    reason: z.string().optional(),
  })
  .describe('one stage of a journey, with its evidence');

export const Journey = z
  .strictObject({
    key: z.string().describe('"<message id>/<xcm index>"'),
    id: Hash.describe(
      "the id the receiver's MessageQueue events carry: the trailing SetTopic's topic, else messageHash",
    ),
    messageHash: Hash.describe("blake2_256 of the XCM's encoding: the sender's XcmpMessageSent.message_hash"),
    topic: Hash.nullable(),
    version: z.string(),
    sender: ParaId,
    recipient: ParaId,
    sentAt: BlockNumber,
    blockHash: Hash.describe('the relay block that enacted it (sentAt)'),
    message: z.string().describe('the message id'),
    xcmIndex: z.number().int().describe("the XCM's position in the message's page"),
    outcome: z.enum(['executed', 'failed', 'overweight']).nullable(),
    deliveredIn: ParaBlock.nullable(),
    stages: z.array(JourneyStage),
  })
  .describe("one XCM from enactment to the receiving runtime's verdict (docs/journey.md)");

export const JourneyFilter = z
  .strictObject({
    sender: ParaId.optional(),
    recipient: ParaId.optional(),
    id: Hash.optional().describe('an XCM id or message hash'),
    fromBlock: BlockNumber.optional().describe(
      'first replay every journey sent at this relay block or later (stored ones, then those in memory; each once, as "replay" updates), then live updates',
    ),
  })
  .describe('journey subscription filter');

export const JourneyUpdate = z.strictObject({
  stage: z
    .union([JourneyStageName, z.literal('verified'), z.literal('replay')])
    .describe('the stage added; "verified" when one was proven; "replay": a journey replayed from fromBlock'),
  journey: Journey,
});

export type JourneyFilterJson = z.infer<typeof JourneyFilter>;
export type MessageJson = z.infer<typeof Message>;
export type MailboxJson = z.infer<typeof Mailbox>;
export type ChannelJson = z.infer<typeof Channel>;
export type CandidateJson = z.infer<typeof Candidate>;
export type StatusJson = z.infer<typeof Status>;
export type FederationJson = NonNullable<StatusJson['federation']>;
export type MailboxUpdateJson = z.infer<typeof MailboxUpdate>;
export type PendingMessageJson = z.infer<typeof PendingMessage>;
export type SpeculativeMessageJson = z.infer<typeof SpeculativeMessage>;
export type CandidateSubscriptionOptionsJson = z.infer<typeof CandidateSubscriptionOptions>;
export type InboxProofJson = z.infer<typeof InboxProof>;
export type ChannelHistoryJson = z.infer<typeof ChannelHistory>;
export type ChannelHistoryOptionsJson = z.infer<typeof ChannelHistoryOptions>;
export type CandidateUpdateJson = z.infer<typeof CandidateUpdate>;
export type SubscriptionOptionsJson = z.infer<typeof SubscriptionOptions>;
export type MessageQueryOptionsJson = z.infer<typeof MessageQueryOptions>;

export const GrandpaChangesOptions = z
  .strictObject({
    after: BlockNumber.describe(
      'the block after which your newest authority set finalizes (your checkpoint block, or the last change you hold)',
    ),
    limit: z.number().int().min(1).max(64).optional().describe('at most this many changes (default 16)'),
  })
  .describe('where to list GRANDPA authority-set changes from');

export const GrandpaChange = z
  .strictObject({
    block: BlockRef.describe('the block that enacts the change: the last block its set finalizes'),
    headers: z
      .array(HexString)
      .describe(
        'SCALE headers from the one whose digest announces the change (ScheduledChange) to the enacting one',
      ),
    justification: HexString.describe('SCALE GrandpaJustification of the enacting block, by the set it ends'),
  })
  .describe('one GRANDPA authority-set change and its proof');

export const GrandpaChanges = z
  .strictObject({
    changes: z.array(GrandpaChange).describe('in order; each new set has the id of the one before + 1'),
    complete: z
      .boolean()
      .describe('true: no later change up to the finalized head; false: ask again after the last one'),
  })
  .describe(
    'the authority-set changes after a block, for a client that trusts only a checkpoint (docs/finality.md)',
  );
export type GrandpaChangesJson = z.infer<typeof GrandpaChanges>;
export type GrandpaChangesOptionsJson = z.infer<typeof GrandpaChangesOptions>;
