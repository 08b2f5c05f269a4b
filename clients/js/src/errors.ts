/** A non-2xx answer of the REST API. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  /** `{"detail": ...}` of the body: a string, or FastAPI's 422 list of `{loc, msg, type}`. */
  readonly detail: unknown;

  constructor(status: number, detail: unknown) {
    super(describeDetail(status, detail));
    this.status = status;
    this.detail = detail;
  }
}

/** The request never got an answer: the server is down or unreachable. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An `error` frame of the gateway (docs/protocol.md "Error codes"). */
export class ServerError extends Error {
  override readonly name = 'ServerError';
  /** `bad_request`, `invalid`, `forbidden`, `not_found`, `rate_limited`, `internal`...; `unauthorized` when the connection gave up because the credentials were refused. */
  readonly code: string;
  /** The `client_msg_id` of the send this error answers, if any. */
  readonly clientMsgId: string | null;

  constructor(code: string, message: string, clientMsgId: string | null = null) {
    super(message);
    this.code = code;
    this.clientMsgId = clientMsgId;
  }
}

// A 422 list becomes "username: String should have at least 3 characters; ..."
// so that the message can be shown as it is.
function describeDetail(status: number, detail: unknown): string {
  if (typeof detail === 'string' && detail !== '') return detail;
  if (Array.isArray(detail)) {
    const parts = detail.map(describeValidationItem).filter((s) => s !== '');
    if (parts.length > 0) return parts.join('; ');
  }
  return `HTTP ${status}`;
}

function describeValidationItem(item: unknown): string {
  if (typeof item !== 'object' || item === null) return '';
  const { loc, msg } = item as { loc?: unknown; msg?: unknown };
  const text = typeof msg === 'string' ? msg : '';
  // loc starts with where the value came from ("body", "query", "path").
  const field = Array.isArray(loc) ? loc.slice(1).map(String).join('.') : '';
  return field !== '' ? `${field}: ${text}` : text;
}
