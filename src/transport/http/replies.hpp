#pragma once
// Building responses, and the one place where domain errors become HTTP.

#include <boost/json/value.hpp>
#include <vector>

#include "base/error.hpp"
#include "base/task.hpp"
#include "transport/http/message.hpp"

namespace sl::http {

response json(int status, const boost::json::value& v);
response detail(int status, std::string_view text);
response no_content();
// 422 with FastAPI's {"detail":[...]} list.
response validation_failed(const std::vector<field_error>& errors);
// error_kind -> status; invalid -> 422 list; unauthorized adds WWW-Authenticate.
response from_error(const error& e);
int status_of(error_kind k);
// For /health: what `check` answers, or false when it throws (the
// dependency is down).
task<bool> probe(task<bool> check);
// This process's Prometheus series in the text format.
response prometheus_metrics();

}  // namespace sl::http
