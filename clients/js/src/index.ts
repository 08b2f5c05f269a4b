export type { Ack, Channel, Member, Message, Notification, Token, User, WsMessage } from './types.js';
export { ApiError, NetworkError, ServerError } from './errors.js';
export { RestClient } from './rest.js';
export type { RestOptions } from './rest.js';
export { Connection, newClientMsgId } from './connection.js';
export type { ConnectionEvents, ConnectionOptions, ConnectionState, StateInfo, SubscribeOptions } from './connection.js';
export { Backoff } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
