-- The outbox becomes the in-database event log: the relay gives published
-- rows consecutive log positions, and (topic, event_id) is unique instead of
-- event_id alone, so that a dead letter (<topic>.dlq) keeps its event's id.
-- txid records the writing transaction, so the relay never reads past a row
-- that a transaction still running could precede (see outbox_store.hpp).
ALTER TABLE outbox ADD COLUMN position bigint;
ALTER TABLE outbox ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;
ALTER TABLE outbox ADD CONSTRAINT outbox_topic_event_id_key UNIQUE (topic, event_id);
CREATE UNIQUE INDEX ux_outbox_position ON outbox(position) WHERE position IS NOT NULL;
CREATE INDEX ix_outbox_published_at ON outbox(published_at) WHERE published_at IS NOT NULL;

-- One relay at a time ships the outbox: the holder of this lease.
CREATE TABLE relay_lease (
  id         int PRIMARY KEY CHECK (id = 1),
  holder     text NOT NULL,
  expires_at timestamptz NOT NULL
);

-- Consumer groups of the database log: the position each has committed.
CREATE TABLE consumer_offsets (
  group_name text PRIMARY KEY,
  position   bigint NOT NULL,
  updated_at timestamptz NOT NULL
);

-- Events each group has processed (idempotence on event_id), pruned by age.
CREATE TABLE consumer_events (
  group_name   text NOT NULL,
  event_id     uuid NOT NULL,
  processed_at timestamptz NOT NULL,
  PRIMARY KEY (group_name, event_id)
);
CREATE INDEX ix_consumer_events_processed_at ON consumer_events(processed_at);
