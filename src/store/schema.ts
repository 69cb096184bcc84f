/** Versioned schema. Each migration runs once, in order, inside a transaction; `user_version` records it. */
export const MIGRATIONS: readonly string[] = [
  // 1: initial schema
  `
  CREATE TABLE cursor (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    number INTEGER NOT NULL,
    hash BLOB NOT NULL
  );
  CREATE TABLE blocks (
    number INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    parent_hash BLOB NOT NULL,
    message_count INTEGER NOT NULL
  );
  CREATE TABLE candidates (
    candidate_hash BLOB PRIMARY KEY,
    para_id INTEGER NOT NULL,
    descriptor BLOB NOT NULL,
    commitments BLOB NOT NULL,
    commitments_hash BLOB NOT NULL,
    relay_parent BLOB NOT NULL,
    backed_in INTEGER NOT NULL,
    core_index INTEGER,
    status TEXT NOT NULL CHECK (status IN ('backed', 'included', 'timedOut')),
    enacted_in INTEGER,
    verified INTEGER NOT NULL,
    reason TEXT,
    availability_votes INTEGER NOT NULL,
    availability_threshold INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX candidates_para ON candidates (para_id, backed_in);
  CREATE INDEX candidates_pending ON candidates (status) WHERE status = 'backed';
  CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    recipient INTEGER NOT NULL,
    sent_at INTEGER NOT NULL,
    sender INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    data BLOB NOT NULL,
    hash BLOB NOT NULL,
    candidate_hash BLOB NOT NULL,
    block_hash BLOB NOT NULL,
    mqc_head_after BLOB NOT NULL,
    verified INTEGER NOT NULL,
    reason TEXT
  );
  CREATE UNIQUE INDEX messages_inbox ON messages (recipient, sent_at, sender, idx);
  CREATE INDEX messages_outbox ON messages (sender, sent_at, recipient, idx);
  CREATE INDEX messages_candidate ON messages (candidate_hash);
  CREATE TABLE channels (
    sender INTEGER NOT NULL,
    recipient INTEGER NOT NULL,
    max_capacity INTEGER NOT NULL,
    max_total_size INTEGER NOT NULL,
    max_message_size INTEGER NOT NULL,
    msg_count INTEGER NOT NULL,
    total_size INTEGER NOT NULL,
    mqc_head BLOB,
    verified_at INTEGER NOT NULL,
    last_sent_at INTEGER,
    PRIMARY KEY (sender, recipient)
  ) WITHOUT ROWID;
  CREATE TABLE watermarks (
    para_id INTEGER PRIMARY KEY,
    watermark INTEGER NOT NULL
  );
  CREATE TABLE failures (
    id INTEGER PRIMARY KEY,
    block_number INTEGER NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    para_id INTEGER,
    candidate_hash BLOB
  );
  CREATE INDEX failures_block ON failures (block_number);
  `,
  // 2: answering ParachainHost_inbound_hrmp_channels_contents from the store needs the
  // recipient's watermark at any stored block, and block numbers by hash.
  `
  ALTER TABLE candidates ADD COLUMN hrmp_watermark INTEGER;
  CREATE INDEX candidates_enacted ON candidates (para_id, enacted_in) WHERE status = 'included';
  CREATE INDEX blocks_hash ON blocks (hash);
  `,
  // 3: federation. Messages accepted from a peer sidecar keep their provenance, and each channel
  // records from which block the store holds every message, and the head just before that.
  `
  ALTER TABLE messages ADD COLUMN source TEXT NOT NULL DEFAULT 'node';
  ALTER TABLE messages ADD COLUMN peer TEXT;
  CREATE TABLE channel_history (
    sender INTEGER NOT NULL,
    recipient INTEGER NOT NULL,
    complete_from INTEGER NOT NULL,
    head_before BLOB,
    head_known INTEGER NOT NULL,
    peer TEXT,
    PRIMARY KEY (sender, recipient)
  ) WITHOUT ROWID;
  INSERT INTO channel_history (sender, recipient, complete_from, head_before, head_known)
    SELECT sender, recipient, COALESCE((SELECT MIN(number) FROM blocks), verified_at + 1), NULL, 0 FROM channels;
  -- Blocks the store skipped (a pruned node after downtime), bridged with history from peers.
  CREATE TABLE gaps (
    from_block INTEGER NOT NULL,
    to_block INTEGER NOT NULL
  );
  -- Each para's HRMP watermark as the node reported it where the store (re)started: what holds
  -- until the para's next enacted candidate.
  CREATE TABLE watermark_seeds (
    para_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    watermark INTEGER NOT NULL,
    PRIMARY KEY (para_id, at)
  ) WITHOUT ROWID;
  `,
  // 4: candidate subscriptions replay from a block, so a candidate records where it was settled
  // (included or timed out), and candidates are found by the block that backed them. A message
  // keeps its position among its candidate's messages, which pending subscribers match it by.
  `
  ALTER TABLE messages ADD COLUMN position INTEGER;
  ALTER TABLE candidates ADD COLUMN settled_in INTEGER;
  UPDATE candidates SET settled_in = enacted_in WHERE status = 'included';
  CREATE INDEX candidates_backed ON candidates (backed_in);
  CREATE INDEX candidates_settled ON candidates (settled_in) WHERE settled_in IS NOT NULL;
  `,
  // 5: candidates as a rowid table. Keyed by their hash (WITHOUT ROWID), each 1.5 kB row spilled
  // into an overflow page of its own (4.6 kB per candidate on disk) and every insert landed on a
  // random page; now rows are appended in the order they are backed and the hash is an index.
  `
  CREATE TABLE candidates_v5 (
    id INTEGER PRIMARY KEY,
    candidate_hash BLOB NOT NULL UNIQUE,
    para_id INTEGER NOT NULL,
    descriptor BLOB NOT NULL,
    commitments BLOB NOT NULL,
    commitments_hash BLOB NOT NULL,
    relay_parent BLOB NOT NULL,
    backed_in INTEGER NOT NULL,
    core_index INTEGER,
    status TEXT NOT NULL CHECK (status IN ('backed', 'included', 'timedOut')),
    enacted_in INTEGER,
    verified INTEGER NOT NULL,
    reason TEXT,
    availability_votes INTEGER NOT NULL,
    availability_threshold INTEGER NOT NULL,
    hrmp_watermark INTEGER,
    settled_in INTEGER
  );
  INSERT INTO candidates_v5 (candidate_hash, para_id, descriptor, commitments, commitments_hash, relay_parent,
    backed_in, core_index, status, enacted_in, verified, reason, availability_votes, availability_threshold,
    hrmp_watermark, settled_in)
    SELECT candidate_hash, para_id, descriptor, commitments, commitments_hash, relay_parent, backed_in, core_index,
      status, enacted_in, verified, reason, availability_votes, availability_threshold, hrmp_watermark, settled_in
    FROM candidates ORDER BY backed_in, candidate_hash;
  DROP TABLE candidates;
  ALTER TABLE candidates_v5 RENAME TO candidates;
  CREATE INDEX candidates_para ON candidates (para_id, backed_in);
  CREATE INDEX candidates_pending ON candidates (status) WHERE status = 'backed';
  CREATE INDEX candidates_enacted ON candidates (para_id, enacted_in) WHERE status = 'included';
  CREATE INDEX candidates_backed ON candidates (backed_in);
  CREATE INDEX candidates_settled ON candidates (settled_in) WHERE settled_in IS NOT NULL;
  `,
  // 6: a candidate freed without enactment or time-out (a dispute concluded against it, or its
  // core was given to another) has a status of its own; SQLite cannot change a CHECK in place. And
  // each block's candidate updates are kept in order (availability votes included), so a block
  // read back (API replicas) carries every update its write had.
  `
  CREATE TABLE candidate_updates (
    block_number INTEGER NOT NULL,
    position INTEGER NOT NULL,
    candidate_hash BLOB NOT NULL,
    status TEXT NOT NULL,
    availability_votes INTEGER NOT NULL,
    PRIMARY KEY (block_number, position)
  ) WITHOUT ROWID;
  CREATE TABLE candidates_v6 (
    id INTEGER PRIMARY KEY,
    candidate_hash BLOB NOT NULL UNIQUE,
    para_id INTEGER NOT NULL,
    descriptor BLOB NOT NULL,
    commitments BLOB NOT NULL,
    commitments_hash BLOB NOT NULL,
    relay_parent BLOB NOT NULL,
    backed_in INTEGER NOT NULL,
    core_index INTEGER,
    status TEXT NOT NULL CHECK (status IN ('backed', 'included', 'timedOut', 'freed')),
    enacted_in INTEGER,
    verified INTEGER NOT NULL,
    reason TEXT,
    availability_votes INTEGER NOT NULL,
    availability_threshold INTEGER NOT NULL,
    hrmp_watermark INTEGER,
    settled_in INTEGER
  );
  INSERT INTO candidates_v6 SELECT * FROM candidates ORDER BY id;
  DROP TABLE candidates;
  ALTER TABLE candidates_v6 RENAME TO candidates;
  CREATE INDEX candidates_para ON candidates (para_id, backed_in);
  CREATE INDEX candidates_pending ON candidates (status) WHERE status = 'backed';
  CREATE INDEX candidates_enacted ON candidates (para_id, enacted_in) WHERE status = 'included';
  CREATE INDEX candidates_backed ON candidates (backed_in);
  CREATE INDEX candidates_settled ON candidates (settled_in) WHERE settled_in IS NOT NULL;
  `,
  // 7: one journey per XCM to a para whose node is attached (DESIGN.md §14), found by id, message
  // hash or sending block; its stages are JSON (they grow as the receiving side is seen). A rowid
  // table: rows of a few KB overflow a WITHOUT ROWID table's pages.
  `
  CREATE TABLE journeys (
    key TEXT PRIMARY KEY,
    id BLOB NOT NULL,
    message_hash BLOB NOT NULL,
    sender INTEGER NOT NULL,
    recipient INTEGER NOT NULL,
    sent_at INTEGER NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX journeys_id ON journeys (id);
  CREATE INDEX journeys_hash ON journeys (message_hash);
  CREATE INDEX journeys_sent ON journeys (sent_at, key);
  `,
  // 8: the mesh's erasure-coded history (DESIGN.md §16): per (block, recipient) slice older than
  // --mesh-full-retention, this member's chunk, its Merkle branch, the erasure root and each
  // sender's MQC heads around the block; the messages themselves are gone from \`messages\`.
  // \`mesh_heads\`: each channel's head after the last aged block (where the next slice starts).
  `
  CREATE TABLE mesh_slices (
    block INTEGER NOT NULL,
    recipient INTEGER NOT NULL,
    block_hash BLOB NOT NULL,
    members INTEGER NOT NULL,
    chunk_index INTEGER NOT NULL,
    length INTEGER NOT NULL,
    message_count INTEGER NOT NULL,
    root BLOB NOT NULL,
    branch BLOB NOT NULL,
    chunk BLOB NOT NULL,
    heads BLOB NOT NULL,
    PRIMARY KEY (recipient, block)
  );
  CREATE INDEX mesh_slices_block ON mesh_slices (block);
  CREATE TABLE mesh_heads (
    sender INTEGER NOT NULL,
    recipient INTEGER NOT NULL,
    head BLOB NOT NULL,
    PRIMARY KEY (sender, recipient)
  ) WITHOUT ROWID;
  CREATE TABLE mesh_progress (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    aged_up_to INTEGER NOT NULL,
    full_bytes INTEGER NOT NULL
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
