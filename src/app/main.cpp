// signalink: one binary, one subcommand per role (contract.md section 1).

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/config.hpp"
#include "app/runtime.hpp"
#include "app/version.hpp"
#include "base/log.hpp"

int main(int argc, char** argv) {
  using namespace sl::app;
  CLI::App cli{"Signalink: real-time messaging server"};
  cli.require_subcommand(1);
  config cfg;

  auto* serve = cli.add_subcommand("serve", "Run every role in one process (embedded defaults: SQLite, in-process)");
  auto* api = cli.add_subcommand("api", "Run the REST API role (port 8000)");
  auto* gateway = cli.add_subcommand("gateway", "Run the WebSocket gateway role (port 8001)");
  auto* analytics =
      cli.add_subcommand("analytics", "Run the analytics role: consumer, metrics API, dashboard (port 8002)");
  auto* notifier = cli.add_subcommand(
      "notifier", "Run the notification worker: in-app notifications, webhooks and email (port 8003)");
  auto* migrate_cmd = cli.add_subcommand("migrate", "Apply the database schema and exit");
  auto* events_cmd = cli.add_subcommand("events", "Tools for the event log");
  events_cmd->require_subcommand(1);
  auto* tail_cmd = events_cmd->add_subcommand(
      "tail", "Consume events as a consumer group and print each one's JSON on a line of stdout");
  std::string tail_group = "signalink-tail";
  std::vector<std::string> tail_topics;
  tail_cmd->add_option("--group", tail_group, "Consumer group (positions are kept per group)")->capture_default_str();
  tail_cmd->add_option("--topic", tail_topics, "Topic to read (repeatable; default: all of Signalink's)");
  auto* version_cmd = cli.add_subcommand("version", "Print the version and exit");
  for (auto* cmd : {serve, api, gateway, analytics, notifier, migrate_cmd, tail_cmd}) add_options(*cmd, cfg);

  CLI11_PARSE(cli, argc, argv);

  if (version_cmd->parsed()) {
    std::cout << "signalink " << version << "\n";
    return 0;
  }
  std::string bad_level;
  if (auto levels = sl::log::parse_spec(cfg.log_level, &bad_level)) {
    sl::log::set_spec(*levels);
  } else {
    sl::log::error("invalid configuration", {{"reason", "LOG_LEVEL: " + bad_level}});
    return 2;
  }
  if (auto problem = validate(cfg); !problem.empty()) {
    sl::log::error("invalid configuration", {{"reason", problem}});
    return 2;
  }
  if (migrate_cmd->parsed()) return sl::app::migrate(cfg);
  if (tail_cmd->parsed()) return tail_events(cfg, tail_group, tail_topics);
  if (api->parsed()) return run(cfg, {role::api});
  if (gateway->parsed()) return run(cfg, {role::gateway});
  if (analytics->parsed()) return run(cfg, {role::analytics});
  if (notifier->parsed()) return run(cfg, {role::notifier});
  return run(cfg, {role::api, role::gateway, role::analytics, role::notifier});
}
