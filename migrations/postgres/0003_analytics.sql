-- Analytics (contract.md section 5), the logical schema of
-- migrations/sqlite/0003_analytics.sql with native types. Every counted event
-- is stored once as a fact keyed by its event id, so a redelivered event adds
-- nothing; a window is pending from its first fact until its metrics rows are
-- written, which are computed afresh from the window's facts (never
-- incremented). Windows are keyed by (window_start, window_seconds).

-- message.created | edited | deleted; user_id is the actor (NULL: unknown).
CREATE TABLE analytics_message_facts (
  event_id       uuid PRIMARY KEY,
  at             timestamptz NOT NULL,
  window_start   timestamptz NOT NULL,
  window_seconds int NOT NULL CHECK (window_seconds > 0),
  action         text NOT NULL CHECK (action IN ('created', 'edited', 'deleted')),
  message_id     uuid NOT NULL,
  channel_id     uuid NOT NULL,
  user_id        uuid,
  message_type   text NOT NULL CHECK (message_type IN ('text', 'image', 'file', 'system'))
);
CREATE INDEX ix_analytics_message_facts_window ON analytics_message_facts(window_start, window_seconds);

-- presence.online | offline (user_id set) and presence.sockets (a node's count of open sockets).
CREATE TABLE analytics_presence_facts (
  event_id       uuid PRIMARY KEY,
  at             timestamptz NOT NULL,
  window_start   timestamptz NOT NULL,
  window_seconds int NOT NULL CHECK (window_seconds > 0),
  action         text NOT NULL CHECK (action IN ('online', 'offline', 'sockets')),
  user_id        uuid,
  node           text,
  sockets        bigint NOT NULL DEFAULT 0
);
CREATE INDEX ix_analytics_presence_facts_window ON analytics_presence_facts(window_start, window_seconds);
-- A user's latest online/offline fact (carried over into later windows); the
-- event id breaks ties between facts of one instant.
CREATE INDEX ix_analytics_presence_facts_user ON analytics_presence_facts(user_id, at, event_id)
  WHERE user_id IS NOT NULL;

-- Windows with facts: pending until written, pending again when a fact arrives after.
CREATE TABLE analytics_windows (
  window_start   timestamptz NOT NULL,
  window_seconds int NOT NULL CHECK (window_seconds > 0),
  pending        boolean NOT NULL DEFAULT true,
  written_at     timestamptz,
  PRIMARY KEY (window_start, window_seconds)
);
-- The pending windows, oldest first (a window ends window_seconds after its
-- start; timestamptz + interval is not immutable, so the end itself cannot be indexed).
CREATE INDEX ix_analytics_windows_pending ON analytics_windows(window_start, window_seconds) WHERE pending;

-- The metrics rows of contract.md section 5, columns in its order.
CREATE TABLE message_metrics (
  id                      uuid PRIMARY KEY,
  time_window             timestamptz NOT NULL,
  window_duration_seconds int NOT NULL,
  message_count           bigint NOT NULL,
  messages_per_second     double precision NOT NULL,
  active_users_count      bigint NOT NULL,
  unique_senders_count    bigint NOT NULL,
  active_channels_count   bigint NOT NULL,
  text_messages_count     bigint NOT NULL,
  image_messages_count    bigint NOT NULL,
  file_messages_count     bigint NOT NULL,
  system_messages_count   bigint NOT NULL,
  created_at              timestamptz NOT NULL,
  UNIQUE (time_window, window_duration_seconds)
);

CREATE TABLE channel_metrics (
  id                      uuid PRIMARY KEY,
  channel_id              uuid NOT NULL,
  time_window             timestamptz NOT NULL,
  window_duration_seconds int NOT NULL,
  message_count           bigint NOT NULL,
  unique_senders_count    bigint NOT NULL,
  messages_per_second     double precision NOT NULL,
  created_count           bigint NOT NULL,
  edited_count            bigint NOT NULL,
  deleted_count           bigint NOT NULL,
  created_at              timestamptz NOT NULL,
  UNIQUE (channel_id, time_window, window_duration_seconds)
);
CREATE INDEX ix_channel_metrics_time_window ON channel_metrics(time_window);

CREATE TABLE user_metrics (
  id                      uuid PRIMARY KEY,
  user_id                 uuid NOT NULL,
  time_window             timestamptz NOT NULL,
  window_duration_seconds int NOT NULL,
  messages_sent           bigint NOT NULL,
  messages_edited         bigint NOT NULL,
  messages_deleted        bigint NOT NULL,
  channels_active         bigint NOT NULL,
  created_at              timestamptz NOT NULL,
  UNIQUE (user_id, time_window, window_duration_seconds)
);
CREATE INDEX ix_user_metrics_time_window ON user_metrics(time_window);

-- (new) Presence per window.
CREATE TABLE presence_metrics (
  id                      uuid PRIMARY KEY,
  time_window             timestamptz NOT NULL,
  window_duration_seconds int NOT NULL,
  users_online            bigint NOT NULL,
  users_connected         bigint NOT NULL,
  users_disconnected      bigint NOT NULL,
  sockets_peak            bigint NOT NULL,
  created_at              timestamptz NOT NULL,
  UNIQUE (time_window, window_duration_seconds)
);

-- A UUIDv7 (RFC 9562: 48 bits of Unix milliseconds, version 7, random bits),
-- for the metrics rows a window's write inserts set-wise (INSERT ... SELECT).
CREATE FUNCTION sl_uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
              PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
              FROM 1 FOR 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;
