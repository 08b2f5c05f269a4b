-- The outbox becomes the in-database event log: the relay gives published
-- rows consecutive log positions, and (topic, event_id) is unique instead of
-- event_id alone, so that a dead letter (<topic>.dlq) keeps its event's id.
CREATE TABLE outbox_new (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id     TEXT NOT NULL,
  topic        TEXT NOT NULL,
  event_key    TEXT NOT NULL,
  event_type   TEXT NOT NULL,
  payload      TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  published_at INTEGER,
  position     INTEGER,
  UNIQUE (topic, event_id)
);
INSERT INTO outbox_new (id, event_id, topic, event_key, event_type, payload, created_at, published_at)
  SELECT id, event_id, topic, event_key, event_type, payload, created_at, published_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX ix_outbox_unpublished ON outbox(id) WHERE published_at IS NULL;
CREATE UNIQUE INDEX ux_outbox_position ON outbox(position) WHERE position IS NOT NULL;
CREATE INDEX ix_outbox_published_at ON outbox(published_at) WHERE published_at IS NOT NULL;

-- One relay at a time ships the outbox: the holder of this lease.
CREATE TABLE relay_lease (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  holder     TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);

-- Consumer groups of the database log: the position each has committed.
CREATE TABLE consumer_offsets (
  group_name TEXT PRIMARY KEY,
  position   INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- Events each group has processed (idempotence on event_id), pruned by age.
CREATE TABLE consumer_events (
  group_name   TEXT NOT NULL,
  event_id     TEXT NOT NULL,
  processed_at INTEGER NOT NULL,
  PRIMARY KEY (group_name, event_id)
) WITHOUT ROWID;
CREATE INDEX ix_consumer_events_processed_at ON consumer_events(processed_at);
