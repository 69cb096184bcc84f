/**
 * The PostgreSQL schema: the same tables, columns and indexes as the SQLite store at its schema
 * version 5 (schema.ts), in PostgreSQL's types, plus an index of messages by block, which API
 * replicas read each new block by. Versioned the same way: each migration runs once,
 * in order, in a transaction, and `xcmp_schema.version` records it; a newer version is refused.
 */
export const PG_MIGRATIONS: readonly string[] = [
  // 1: the SQLite schema as of its version 5.
  `
  CREATE TABLE cursor (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    number BIGINT NOT NULL,
    hash BYTEA NOT NULL
  );
  CREATE TABLE blocks (
    number BIGINT PRIMARY KEY,
    hash BYTEA NOT NULL,
    parent_hash BYTEA NOT NULL,
    message_count INTEGER NOT NULL
  );
  CREATE INDEX blocks_hash ON blocks (hash);
  CREATE TABLE candidates (
    id BIGSERIAL PRIMARY KEY,
    candidate_hash BYTEA NOT NULL UNIQUE,
    para_id BIGINT NOT NULL,
    descriptor BYTEA NOT NULL,
    commitments BYTEA NOT NULL,
    commitments_hash BYTEA NOT NULL,
    relay_parent BYTEA NOT NULL,
    backed_in BIGINT NOT NULL,
    core_index INTEGER,
    status TEXT NOT NULL CHECK (status IN ('backed', 'included', 'timedOut')),
    enacted_in BIGINT,
    verified SMALLINT NOT NULL,
    reason TEXT,
    availability_votes INTEGER NOT NULL,
    availability_threshold INTEGER NOT NULL,
    hrmp_watermark BIGINT,
    settled_in BIGINT
  );
  CREATE INDEX candidates_para ON candidates (para_id, backed_in);
  CREATE INDEX candidates_pending ON candidates (status) WHERE status = 'backed';
  CREATE INDEX candidates_enacted ON candidates (para_id, enacted_in) WHERE status = 'included';
  CREATE INDEX candidates_backed ON candidates (backed_in);
  CREATE INDEX candidates_settled ON candidates (settled_in) WHERE settled_in IS NOT NULL;
  CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    recipient BIGINT NOT NULL,
    sent_at BIGINT NOT NULL,
    sender BIGINT NOT NULL,
    idx INTEGER NOT NULL,
    data BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    candidate_hash BYTEA NOT NULL,
    block_hash BYTEA NOT NULL,
    mqc_head_after BYTEA NOT NULL,
    verified SMALLINT NOT NULL,
    reason TEXT,
    source TEXT NOT NULL DEFAULT 'node',
    peer TEXT,
    position INTEGER
  );
  CREATE UNIQUE INDEX messages_inbox ON messages (recipient, sent_at, sender, idx);
  CREATE INDEX messages_outbox ON messages (sender, sent_at, recipient, idx);
  CREATE INDEX messages_candidate ON messages (candidate_hash);
  CREATE INDEX messages_block ON messages (sent_at);
  CREATE TABLE channels (
    sender BIGINT NOT NULL,
    recipient BIGINT NOT NULL,
    max_capacity BIGINT NOT NULL,
    max_total_size BIGINT NOT NULL,
    max_message_size BIGINT NOT NULL,
    msg_count BIGINT NOT NULL,
    total_size BIGINT NOT NULL,
    mqc_head BYTEA,
    verified_at BIGINT NOT NULL,
    last_sent_at BIGINT,
    PRIMARY KEY (sender, recipient)
  );
  CREATE TABLE watermarks (
    para_id BIGINT PRIMARY KEY,
    watermark BIGINT NOT NULL
  );
  CREATE TABLE failures (
    id BIGSERIAL PRIMARY KEY,
    block_number BIGINT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    para_id BIGINT,
    candidate_hash BYTEA
  );
  CREATE INDEX failures_block ON failures (block_number);
  CREATE TABLE channel_history (
    sender BIGINT NOT NULL,
    recipient BIGINT NOT NULL,
    complete_from BIGINT NOT NULL,
    head_before BYTEA,
    head_known SMALLINT NOT NULL,
    peer TEXT,
    PRIMARY KEY (sender, recipient)
  );
  CREATE TABLE gaps (
    from_block BIGINT NOT NULL,
    to_block BIGINT NOT NULL
  );
  CREATE TABLE watermark_seeds (
    para_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    watermark BIGINT NOT NULL,
    PRIMARY KEY (para_id, at)
  );
  `,
  // 2: a candidate freed without enactment or time-out has a status of its own, and each block's
  // candidate updates are kept in order (as SQLite's 6);
  // and xcmp_status's counts are kept as they change, by statement-level triggers on every table
  // they count, instead of a COUNT(*) over the whole table on every status call.
  `
  ALTER TABLE candidates DROP CONSTRAINT candidates_status_check;
  ALTER TABLE candidates ADD CONSTRAINT candidates_status_check
    CHECK (status IN ('backed', 'included', 'timedOut', 'freed'));
  CREATE TABLE candidate_updates (
    block_number BIGINT NOT NULL,
    position INTEGER NOT NULL,
    candidate_hash BYTEA NOT NULL,
    status TEXT NOT NULL,
    availability_votes INTEGER NOT NULL,
    PRIMARY KEY (block_number, position)
  );
  CREATE TABLE xcmp_counts (name TEXT PRIMARY KEY, total BIGINT NOT NULL);
  INSERT INTO xcmp_counts (name, total)
    SELECT 'blocks', COUNT(*) FROM blocks
    UNION ALL SELECT 'messages', COUNT(*) FROM messages
    UNION ALL SELECT 'unverified', COUNT(*) FROM messages WHERE verified = 0
    UNION ALL SELECT 'candidates', COUNT(*) FROM candidates
    UNION ALL SELECT 'failure:' || kind, COUNT(*) FROM failures GROUP BY kind;
  -- One function per shape of count; 'changed' is the statement's inserted or deleted rows.
  CREATE FUNCTION xcmp_count_table() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE xcmp_counts
      SET total = total + (CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END) * (SELECT COUNT(*) FROM changed)
      WHERE name = TG_ARGV[0];
    RETURN NULL;
  END $$;
  CREATE FUNCTION xcmp_count_messages() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    sign BIGINT := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
  BEGIN
    UPDATE xcmp_counts c SET total = c.total + sign * d.n
      FROM (SELECT 'messages' AS name, COUNT(*) AS n FROM changed
            UNION ALL SELECT 'unverified', COUNT(*) FROM changed WHERE verified = 0) d
      WHERE c.name = d.name;
    RETURN NULL;
  END $$;
  CREATE FUNCTION xcmp_count_failures() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO xcmp_counts (name, total)
      SELECT 'failure:' || kind, (CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END) * COUNT(*) FROM changed GROUP BY kind
      ON CONFLICT (name) DO UPDATE SET total = xcmp_counts.total + EXCLUDED.total;
    RETURN NULL;
  END $$;
  CREATE TRIGGER blocks_counted_in AFTER INSERT ON blocks REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION xcmp_count_table('blocks');
  CREATE TRIGGER blocks_counted_out AFTER DELETE ON blocks REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION xcmp_count_table('blocks');
  CREATE TRIGGER candidates_counted_in AFTER INSERT ON candidates REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION xcmp_count_table('candidates');
  CREATE TRIGGER candidates_counted_out AFTER DELETE ON candidates REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION xcmp_count_table('candidates');
  CREATE TRIGGER messages_counted_in AFTER INSERT ON messages REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION xcmp_count_messages();
  CREATE TRIGGER messages_counted_out AFTER DELETE ON messages REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION xcmp_count_messages();
  CREATE TRIGGER failures_counted_in AFTER INSERT ON failures REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION xcmp_count_failures();
  CREATE TRIGGER failures_counted_out AFTER DELETE ON failures REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION xcmp_count_failures();
  `,
  // 3: journeys (as SQLite's 7).
  `
  CREATE TABLE journeys (
    key TEXT PRIMARY KEY,
    id BYTEA NOT NULL,
    message_hash BYTEA NOT NULL,
    sender BIGINT NOT NULL,
    recipient BIGINT NOT NULL,
    sent_at BIGINT NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX journeys_id ON journeys (id);
  CREATE INDEX journeys_hash ON journeys (message_hash);
  CREATE INDEX journeys_sent ON journeys (sent_at, key);
  `,
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** The tables the schema creates: a database holding any of them without `xcmp_schema` is refused. */
export const PG_TABLES = [
  'cursor',
  'blocks',
  'candidates',
  'messages',
  'channels',
  'watermarks',
  'failures',
  'channel_history',
  'gaps',
  'watermark_seeds',
  'xcmp_counts',
  'candidate_updates',
  'journeys',
] as const;

/** The channel writers notify on each committed write (payload: `<number>:<hash>` of its last block). */
export const BLOCKS_CHANNEL = 'xcmp_blocks';
