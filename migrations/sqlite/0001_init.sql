-- Signalink schema, SQLite dialect. Ids are canonical UUID text; times are
-- integer microseconds since the Unix epoch (UTC).

CREATE TABLE users (
  id              TEXT PRIMARY KEY,
  username        TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 3 AND 50),
  email           TEXT NOT NULL UNIQUE COLLATE NOCASE,
  hashed_password TEXT NOT NULL,
  full_name       TEXT,
  avatar_url      TEXT,
  is_active       INTEGER NOT NULL DEFAULT 1,
  is_verified     INTEGER NOT NULL DEFAULT 0,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  last_seen_at    INTEGER
);

CREATE TABLE channels (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 2 AND 100),
  description   TEXT,
  is_private    INTEGER NOT NULL DEFAULT 0,
  created_by    TEXT REFERENCES users(id) ON DELETE SET NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  last_seq      INTEGER NOT NULL DEFAULT 0,
  member_count  INTEGER NOT NULL DEFAULT 0,
  message_count INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE channel_members (
  id            TEXT PRIMARY KEY,
  channel_id    TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role          TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
  joined_at     INTEGER NOT NULL,
  last_read_seq INTEGER NOT NULL DEFAULT 0,
  UNIQUE (channel_id, user_id)
);
CREATE INDEX ix_channel_members_user ON channel_members(user_id);

CREATE TABLE messages (
  id            TEXT PRIMARY KEY,
  channel_id    TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  user_id       TEXT REFERENCES users(id) ON DELETE SET NULL,
  content       TEXT NOT NULL CHECK (length(trim(content)) > 0),
  message_type  TEXT NOT NULL DEFAULT 'text' CHECK (message_type IN ('text', 'image', 'file', 'system')),
  metadata      TEXT,
  is_edited     INTEGER NOT NULL DEFAULT 0,
  is_deleted    INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  seq           INTEGER NOT NULL,
  parent_id     TEXT REFERENCES messages(id) ON DELETE SET NULL,
  client_msg_id TEXT,
  reply_count   INTEGER NOT NULL DEFAULT 0,
  UNIQUE (channel_id, seq)
);
CREATE UNIQUE INDEX ux_messages_client_msg ON messages(user_id, client_msg_id) WHERE client_msg_id IS NOT NULL;
CREATE INDEX ix_messages_parent ON messages(parent_id, seq) WHERE parent_id IS NOT NULL;

CREATE TABLE message_reactions (
  id         TEXT PRIMARY KEY,
  message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  emoji      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (message_id, user_id, emoji)
);

CREATE TABLE read_receipts (
  id                   TEXT PRIMARY KEY,
  channel_id           TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  user_id              TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  last_read_message_id TEXT REFERENCES messages(id) ON DELETE SET NULL,
  last_read_at         INTEGER NOT NULL,
  UNIQUE (channel_id, user_id)
);

CREATE TABLE user_sessions (
  id         TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_jti  TEXT NOT NULL UNIQUE,
  expires_at INTEGER NOT NULL,
  is_revoked INTEGER NOT NULL DEFAULT 0,
  revoked_at INTEGER,
  created_at INTEGER NOT NULL,
  user_agent TEXT,
  ip_address TEXT
);
CREATE INDEX ix_user_sessions_revoked ON user_sessions(revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE notification_preferences (
  id                    TEXT PRIMARY KEY,
  user_id               TEXT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
  email_notifications   INTEGER NOT NULL DEFAULT 1,
  push_notifications    INTEGER NOT NULL DEFAULT 1,
  mention_notifications INTEGER NOT NULL DEFAULT 1,
  dm_notifications      INTEGER NOT NULL DEFAULT 1,
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL
);

CREATE TABLE analytics_events (
  id         TEXT PRIMARY KEY,
  event_type TEXT NOT NULL,
  user_id    TEXT,
  channel_id TEXT,
  metadata   TEXT,
  created_at INTEGER NOT NULL
);

-- Transactional outbox: every write inserts its event here in its own
-- transaction; a relay ships rows in id order and marks them published.
CREATE TABLE outbox (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id     TEXT NOT NULL UNIQUE,
  topic        TEXT NOT NULL,
  event_key    TEXT NOT NULL,
  event_type   TEXT NOT NULL,
  payload      TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  published_at INTEGER
);
CREATE INDEX ix_outbox_unpublished ON outbox(id) WHERE published_at IS NULL;
