-- Notifications (docs/notifications.md): per-channel mute, direct
-- conversations, webhooks, in-app notifications, the receipts that make each
-- (event, recipient) count once, and the queue of external deliveries.
-- Ids are canonical UUID text, times integer microseconds since the Unix
-- epoch, booleans 0/1, as in 0001.

ALTER TABLE channels ADD COLUMN is_direct INTEGER NOT NULL DEFAULT 0;
ALTER TABLE channel_members ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
-- The users a message's `@username`s resolved to when it was created: a JSON
-- array of user id strings.
ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '[]';

-- Mentions are resolved case-insensitively on every send that names someone.
CREATE INDEX ix_users_username_lower ON users(lower(username));

-- One direct conversation per pair of users, the pair ordered by id text
-- (user_low < user_high): the primary key settles two simultaneous opens.
CREATE TABLE direct_channels (
  user_low   TEXT NOT NULL,
  user_high  TEXT NOT NULL,
  channel_id TEXT NOT NULL UNIQUE REFERENCES channels(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_low, user_high)
) WITHOUT ROWID;

CREATE TABLE webhooks (
  id         TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  url        TEXT NOT NULL,
  secret     TEXT NOT NULL,
  is_active  INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL
);
CREATE INDEX ix_webhooks_user ON webhooks(user_id);

-- message_id has no foreign key: a notification outlives the message it
-- previews (deleted messages stay as soft-deleted rows anyway).
CREATE TABLE notifications (
  id         TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  type       TEXT NOT NULL CHECK (type IN ('dm', 'mention', 'reply', 'channel')),
  channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  message_id TEXT NOT NULL,
  actor_id   TEXT REFERENCES users(id) ON DELETE SET NULL,
  text       TEXT NOT NULL,
  count      INTEGER NOT NULL DEFAULT 1 CHECK (count > 0),
  is_read    INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  read_at    INTEGER
);
-- A user's list, newest first.
CREATE INDEX ix_notifications_user ON notifications(user_id, created_at DESC, id DESC);
-- The coalescing lookup (a recipient's recent unread ones in a channel) and the unread count.
CREATE INDEX ix_notifications_unread ON notifications(user_id, channel_id, created_at) WHERE is_read = 0;

-- Which notification each (event, recipient) produced or folded into.
CREATE TABLE notification_receipts (
  event_id        TEXT NOT NULL,
  user_id         TEXT NOT NULL,
  notification_id TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  PRIMARY KEY (event_id, user_id)
) WITHOUT ROWID;

-- External deliveries owed: due at due_at, leased to a notifier until
-- locked_until while it sends.
CREATE TABLE notification_deliveries (
  id              TEXT PRIMARY KEY,
  notification_id TEXT NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
  channel         TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
  webhook_id      TEXT REFERENCES webhooks(id) ON DELETE CASCADE,
  target          TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  due_at          INTEGER NOT NULL,
  locked_until    INTEGER,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX ix_notification_deliveries_due ON notification_deliveries(due_at) WHERE status = 'pending';
-- For the cascades from notifications and webhooks.
CREATE INDEX ix_notification_deliveries_notification ON notification_deliveries(notification_id);
CREATE INDEX ix_notification_deliveries_webhook ON notification_deliveries(webhook_id) WHERE webhook_id IS NOT NULL;
