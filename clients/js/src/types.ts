// Shapes of the REST API (contract.md section 2.1) and of the gateway's frames
// (docs/protocol.md), as the server sends them.

export interface User {
  id: string;
  username: string;
  email: string;
  full_name: string | null;
  avatar_url: string | null;
  is_active: boolean;
  is_verified: boolean;
  created_at: string;
  last_seen_at: string | null;
}

export interface Token {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
}

export interface Channel {
  id: string;
  name: string;
  description: string | null;
  is_private: boolean;
  created_by: string;
  created_at: string;
  updated_at: string;
  member_count: number;
  message_count: number;
  last_seq: number;
  unread_count: number;
  /** The caller's role in the channel; null when not a member. */
  viewer_role: 'owner' | 'admin' | 'member' | null;
}

export interface Member {
  id: string;
  channel_id: string;
  user_id: string;
  role: 'owner' | 'admin' | 'member';
  joined_at: string;
  user: User;
}

export interface Message {
  id: string;
  channel_id: string;
  user_id: string;
  content: string;
  message_type: 'text' | 'image' | 'file' | 'system';
  metadata: Record<string, unknown> | null;
  is_edited: boolean;
  is_deleted: boolean;
  created_at: string;
  updated_at: string;
  user?: User;
  seq: number;
  parent_id: string | null;
  client_msg_id: string | null;
  reply_count: number;
  username?: string;
}

export interface Notification {
  id: string;
  type: 'dm' | 'mention' | 'reply' | 'channel';
  channel_id: string;
  message_id: string;
  actor_id: string;
  text: string;
  count: number;
  is_read: boolean;
  created_at: string;
  updated_at: string;
}

/** The body of `message.receive`, `message.updated` and `message.deleted` frames. */
export interface WsMessage {
  message_id: string;
  channel_id: string;
  user_id: string;
  username: string;
  content: string;
  message_type: string;
  metadata: Record<string, unknown> | null;
  created_at: string;
  seq: number;
  parent_id: string | null;
  client_msg_id: string | null;
}

/** The server's `message.ack`: the send with `client_msg_id` is stored as `message_id` at `seq`. */
export interface Ack {
  client_msg_id: string;
  message_id: string;
  channel_id: string;
  seq: number;
}
