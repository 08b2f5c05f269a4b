#pragma once
// The embedded storage backend: one SQLite file in WAL mode, written by one
// thread that group-commits (executor.hpp) and read by a small reader pool.

#include <memory>
#include <string>

#include "domain/store.hpp"

namespace sl::storage::sqlite {

struct options {
  std::string path;
  unsigned readers = 2;
};

// Creates the file (and its directory) if needed and applies the embedded
// migrations. Throws on failure.
std::unique_ptr<domain::store> open(const options& o);
// Applies migrations only; returns how many were applied.
int migrate(const std::string& path);

}  // namespace sl::storage::sqlite
