-- Trace context (docs/events.md): the W3C traceparent of the request, frame
-- or event whose work wrote the outbox row; NULL when it ran outside a trace.
-- The database event log is the outbox, so its readers get it too.
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
