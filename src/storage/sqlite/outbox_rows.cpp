#include "storage/sqlite/outbox_rows.hpp"

#include "storage/null_if_empty.hpp"
#include "storage/sqlite/rows.hpp"

namespace sl::storage::sqlite {

void insert_event(connection& c, const domain::events::record& e) {
  c.prepare(
       "INSERT INTO outbox (event_id, topic, event_key, event_type, payload, created_at, traceparent)"
       " VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind_all(e.id.str(), e.topic, e.key, e.event_type, e.payload, rows::micros(e.created_at),
                null_if_empty(e.traceparent))
      .exec();
}

}  // namespace sl::storage::sqlite
