#pragma once
// The composition root: builds the process's I/O threads, store, services and
// role servers from a config, runs them until SIGINT/SIGTERM, and stops them
// in reverse order. The only code that knows every concrete implementation.

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "app/config.hpp"

namespace sl::app {

enum class role { api, gateway, analytics, notifier };

// Runs the given roles; returns the process exit code.
int run(const config& c, const std::set<role>& roles);
// Consumes `topics` (all of Signalink's when empty) as consumer group `group`
// and prints each event's JSON on its own line of stdout, until SIGINT or
// SIGTERM; returns the exit code.
int tail_events(const config& c, const std::string& group, std::vector<std::string> topics);
// Applies the schema for the configured database; returns the exit code.
int migrate(const config& c);
// The directory of served files (API docs UI, openapi.json), found next to the
// executable (build tree) or in ../share (installed); empty when missing.
std::string locate_share_dir();

}  // namespace sl::app
