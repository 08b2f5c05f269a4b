-- Signalink schema, PostgreSQL dialect: the logical schema of
-- migrations/sqlite/0001_init.sql with native types (uuid, timestamptz, jsonb,
-- boolean). Names and user-visible orderings use the "C" collation so that
-- uniqueness and sort order match SQLite's byte order whatever the database
-- locale. The runner records this file in schema_migrations.

CREATE TABLE users (
  id              uuid PRIMARY KEY,
  username        text COLLATE "C" NOT NULL UNIQUE CHECK (char_length(username) BETWEEN 3 AND 50),
  email           text COLLATE "C" NOT NULL,
  hashed_password text NOT NULL,
  full_name       text,
  avatar_url      text,
  is_active       boolean NOT NULL DEFAULT true,
  is_verified     boolean NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  last_seen_at    timestamptz
);
-- Emails are unique case-insensitively (SQLite: COLLATE NOCASE).
CREATE UNIQUE INDEX ux_users_email ON users (lower(email));

CREATE TABLE channels (
  id            uuid PRIMARY KEY,
  name          text COLLATE "C" NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 2 AND 100),
  description   text,
  is_private    boolean NOT NULL DEFAULT false,
  created_by    uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  last_seq      bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
  member_count  bigint NOT NULL DEFAULT 0 CHECK (member_count >= 0),
  message_count bigint NOT NULL DEFAULT 0 CHECK (message_count >= 0)
);

CREATE TABLE channel_members (
  id            uuid PRIMARY KEY,
  channel_id    uuid NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role          text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
  joined_at     timestamptz NOT NULL,
  last_read_seq bigint NOT NULL DEFAULT 0 CHECK (last_read_seq >= 0),
  UNIQUE (channel_id, user_id)
);
CREATE INDEX ix_channel_members_user ON channel_members(user_id);

CREATE TABLE messages (
  id            uuid PRIMARY KEY,
  channel_id    uuid NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  user_id       uuid REFERENCES users(id) ON DELETE SET NULL,
  content       text NOT NULL CHECK (char_length(btrim(content)) > 0),
  message_type  text NOT NULL DEFAULT 'text' CHECK (message_type IN ('text', 'image', 'file', 'system')),
  metadata      jsonb CHECK (metadata IS NULL OR jsonb_typeof(metadata) = 'object'),
  is_edited     boolean NOT NULL DEFAULT false,
  is_deleted    boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  seq           bigint NOT NULL CHECK (seq > 0),
  parent_id     uuid REFERENCES messages(id) ON DELETE SET NULL,
  client_msg_id text,
  reply_count   bigint NOT NULL DEFAULT 0 CHECK (reply_count >= 0),
  UNIQUE (channel_id, seq)
);
CREATE UNIQUE INDEX ux_messages_client_msg ON messages(user_id, client_msg_id) WHERE client_msg_id IS NOT NULL;
CREATE INDEX ix_messages_parent ON messages(parent_id, seq) WHERE parent_id IS NOT NULL;

CREATE TABLE message_reactions (
  id         uuid PRIMARY KEY,
  message_id uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  emoji      text NOT NULL,
  created_at timestamptz NOT NULL,
  UNIQUE (message_id, user_id, emoji)
);

CREATE TABLE read_receipts (
  id                   uuid PRIMARY KEY,
  channel_id           uuid NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  user_id              uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  last_read_message_id uuid REFERENCES messages(id) ON DELETE SET NULL,
  last_read_at         timestamptz NOT NULL,
  UNIQUE (channel_id, user_id)
);

CREATE TABLE user_sessions (
  id         uuid PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_jti  text NOT NULL UNIQUE,
  expires_at timestamptz NOT NULL,
  is_revoked boolean NOT NULL DEFAULT false,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL,
  user_agent text,
  ip_address text
);
CREATE INDEX ix_user_sessions_revoked ON user_sessions(revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE notification_preferences (
  id                    uuid PRIMARY KEY,
  user_id               uuid NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
  email_notifications   boolean NOT NULL DEFAULT true,
  push_notifications    boolean NOT NULL DEFAULT true,
  mention_notifications boolean NOT NULL DEFAULT true,
  dm_notifications      boolean NOT NULL DEFAULT true,
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL
);

CREATE TABLE analytics_events (
  id         uuid PRIMARY KEY,
  event_type text NOT NULL,
  user_id    uuid,
  channel_id uuid,
  metadata   jsonb,
  created_at timestamptz NOT NULL
);

-- Transactional outbox: every write inserts its event here in its own
-- transaction; a relay ships rows in id order and marks them published.
-- The payload is kept as text so its bytes (and key order) are shipped as built.
CREATE TABLE outbox (
  id           bigserial PRIMARY KEY,
  event_id     uuid NOT NULL UNIQUE,
  topic        text NOT NULL,
  event_key    text NOT NULL,
  event_type   text NOT NULL,
  payload      text NOT NULL,
  created_at   timestamptz NOT NULL,
  published_at timestamptz
);
CREATE INDEX ix_outbox_unpublished ON outbox(id) WHERE published_at IS NULL;
