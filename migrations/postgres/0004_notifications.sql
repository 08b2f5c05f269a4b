-- Notifications (docs/notifications.md): the logical schema of
-- migrations/sqlite/0004_notifications.sql with native types. Receipts make
-- each (event, recipient) count once; deliveries are a queue of rows due at a
-- time, leased by the notifier that claims them.

ALTER TABLE channels ADD COLUMN is_direct boolean NOT NULL DEFAULT false;
ALTER TABLE channel_members ADD COLUMN muted boolean NOT NULL DEFAULT false;
-- Resolved @username mentions, written with the message (empty for most).
ALTER TABLE messages ADD COLUMN mentions uuid[] NOT NULL DEFAULT '{}';

-- Mentions are resolved case-insensitively on every send that names someone.
CREATE INDEX ix_users_username_lower ON users (lower(username));

-- One conversation per pair of users, the pair ordered by id.
CREATE TABLE direct_channels (
  user_low   uuid NOT NULL,
  user_high  uuid NOT NULL,
  channel_id uuid NOT NULL UNIQUE REFERENCES channels(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (user_low, user_high)
);

CREATE TABLE webhooks (
  id         uuid PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  url        text NOT NULL,
  secret     text NOT NULL,
  is_active  boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL
);
CREATE INDEX ix_webhooks_user ON webhooks(user_id);

-- message_id has no foreign key: a notification outlives its message.
CREATE TABLE notifications (
  id         uuid PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  type       text NOT NULL CHECK (type IN ('dm', 'mention', 'reply', 'channel')),
  channel_id uuid NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  message_id uuid NOT NULL,
  actor_id   uuid REFERENCES users(id) ON DELETE SET NULL,
  text       text NOT NULL,
  count      bigint NOT NULL DEFAULT 1 CHECK (count > 0),
  is_read    boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  read_at    timestamptz
);
CREATE INDEX ix_notifications_user ON notifications(user_id, created_at DESC, id DESC);
-- The coalescing slot and the unread count.
CREATE INDEX ix_notifications_unread ON notifications(user_id, channel_id, created_at) WHERE NOT is_read;

-- What an event did for a recipient: the notification it created or folded into.
CREATE TABLE notification_receipts (
  event_id        uuid NOT NULL,
  user_id         uuid NOT NULL,
  notification_id uuid NOT NULL,
  created_at      timestamptz NOT NULL,
  PRIMARY KEY (event_id, user_id)
);

CREATE TABLE notification_deliveries (
  id              uuid PRIMARY KEY,
  notification_id uuid NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
  channel         text NOT NULL CHECK (channel IN ('webhook', 'email')),
  webhook_id      uuid REFERENCES webhooks(id) ON DELETE CASCADE,
  target          text NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts        int NOT NULL DEFAULT 0,
  due_at          timestamptz NOT NULL,
  locked_until    timestamptz,
  last_error      text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL
);
CREATE INDEX ix_notification_deliveries_due ON notification_deliveries(due_at) WHERE status = 'pending';
-- For the cascades from notifications and webhooks.
CREATE INDEX ix_notification_deliveries_notification ON notification_deliveries(notification_id);
CREATE INDEX ix_notification_deliveries_webhook ON notification_deliveries(webhook_id) WHERE webhook_id IS NOT NULL;
