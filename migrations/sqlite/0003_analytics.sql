-- Analytics (contract.md section 5). Every counted event is stored once as a
-- fact keyed by its event id, so a redelivered event adds nothing; a window is
-- pending from its first fact until its metrics rows are written, which are
-- computed afresh from the window's facts (never incremented).
-- Windows are keyed by (window_start, window_seconds); times are integer
-- microseconds since the Unix epoch, ids canonical UUID text, as in 0001.

-- message.created | edited | deleted; user_id is the actor (NULL: unknown).
CREATE TABLE analytics_message_facts (
  event_id       TEXT PRIMARY KEY,
  at             INTEGER NOT NULL,
  window_start   INTEGER NOT NULL,
  window_seconds INTEGER NOT NULL CHECK (window_seconds > 0),
  action         TEXT NOT NULL CHECK (action IN ('created', 'edited', 'deleted')),
  message_id     TEXT NOT NULL,
  channel_id     TEXT NOT NULL,
  user_id        TEXT,
  message_type   TEXT NOT NULL CHECK (message_type IN ('text', 'image', 'file', 'system'))
) WITHOUT ROWID;
CREATE INDEX ix_analytics_message_facts_window ON analytics_message_facts(window_start, window_seconds);

-- presence.online | offline (user_id set) and presence.sockets (a node's count of open sockets).
CREATE TABLE analytics_presence_facts (
  event_id       TEXT PRIMARY KEY,
  at             INTEGER NOT NULL,
  window_start   INTEGER NOT NULL,
  window_seconds INTEGER NOT NULL CHECK (window_seconds > 0),
  action         TEXT NOT NULL CHECK (action IN ('online', 'offline', 'sockets')),
  user_id        TEXT,
  node           TEXT,
  sockets        INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX ix_analytics_presence_facts_window ON analytics_presence_facts(window_start, window_seconds);
-- A user's latest online/offline fact (carried over into later windows).
CREATE INDEX ix_analytics_presence_facts_user ON analytics_presence_facts(user_id, at) WHERE user_id IS NOT NULL;

-- Windows with facts: pending until written, pending again when a fact arrives after.
CREATE TABLE analytics_windows (
  window_start   INTEGER NOT NULL,
  window_seconds INTEGER NOT NULL CHECK (window_seconds > 0),
  pending        INTEGER NOT NULL DEFAULT 1,
  written_at     INTEGER,
  PRIMARY KEY (window_start, window_seconds)
) WITHOUT ROWID;
-- The pending windows, oldest first (a window ends window_seconds after its start).
CREATE INDEX ix_analytics_windows_pending ON analytics_windows(window_start, window_seconds) WHERE pending = 1;

-- The metrics rows of contract.md section 5, columns in its order.
CREATE TABLE message_metrics (
  id                      TEXT PRIMARY KEY,
  time_window             INTEGER NOT NULL,
  window_duration_seconds INTEGER NOT NULL,
  message_count           INTEGER NOT NULL,
  messages_per_second     REAL NOT NULL,
  active_users_count      INTEGER NOT NULL,
  unique_senders_count    INTEGER NOT NULL,
  active_channels_count   INTEGER NOT NULL,
  text_messages_count     INTEGER NOT NULL,
  image_messages_count    INTEGER NOT NULL,
  file_messages_count     INTEGER NOT NULL,
  system_messages_count   INTEGER NOT NULL,
  created_at              INTEGER NOT NULL,
  UNIQUE (time_window, window_duration_seconds)
);

CREATE TABLE channel_metrics (
  id                      TEXT PRIMARY KEY,
  channel_id              TEXT NOT NULL,
  time_window             INTEGER NOT NULL,
  window_duration_seconds INTEGER NOT NULL,
  message_count           INTEGER NOT NULL,
  unique_senders_count    INTEGER NOT NULL,
  messages_per_second     REAL NOT NULL,
  created_count           INTEGER NOT NULL,
  edited_count            INTEGER NOT NULL,
  deleted_count           INTEGER NOT NULL,
  created_at              INTEGER NOT NULL,
  UNIQUE (channel_id, time_window, window_duration_seconds)
);
CREATE INDEX ix_channel_metrics_time_window ON channel_metrics(time_window);

CREATE TABLE user_metrics (
  id                      TEXT PRIMARY KEY,
  user_id                 TEXT NOT NULL,
  time_window             INTEGER NOT NULL,
  window_duration_seconds INTEGER NOT NULL,
  messages_sent           INTEGER NOT NULL,
  messages_edited         INTEGER NOT NULL,
  messages_deleted        INTEGER NOT NULL,
  channels_active         INTEGER NOT NULL,
  created_at              INTEGER NOT NULL,
  UNIQUE (user_id, time_window, window_duration_seconds)
);
CREATE INDEX ix_user_metrics_time_window ON user_metrics(time_window);

-- (new) Presence per window.
CREATE TABLE presence_metrics (
  id                      TEXT PRIMARY KEY,
  time_window             INTEGER NOT NULL,
  window_duration_seconds INTEGER NOT NULL,
  users_online            INTEGER NOT NULL,
  users_connected         INTEGER NOT NULL,
  users_disconnected      INTEGER NOT NULL,
  sockets_peak            INTEGER NOT NULL,
  created_at              INTEGER NOT NULL,
  UNIQUE (time_window, window_duration_seconds)
);
