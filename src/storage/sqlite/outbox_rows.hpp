#pragma once
// Outbox rows written by the SQLite stores (sqlite_store,
// sqlite_notifications): each write inserts its event in its own transaction.

#include "domain/events.hpp"
#include "storage/sqlite/connection.hpp"

namespace sl::storage::sqlite {

void insert_event(connection& c, const domain::events::record& e);

}  // namespace sl::storage::sqlite
