#pragma once
// Expected failures, carried as values (see result.hpp). Each kind maps to one
// transport status in exactly one place per transport.

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sl {

enum class error_kind {
  bad_request,   // a rule of the domain refuses the request (400)
  unauthorized,  // no or bad credentials (401)
  forbidden,     // authenticated but not allowed (403)
  not_found,     // the named thing does not exist for this caller (404)
  invalid,       // a field fails validation (422); see field_error
  rate_limited,  // too many requests (429)
  unavailable,   // a dependency is down (503)
};

// One failed field, in the shape FastAPI reports (type, loc, msg); `input`
// and `ctx` are pre-serialized JSON texts, empty when absent.
struct field_error {
  std::string type;
  std::vector<std::string> loc;
  std::string msg;
  std::string input_json;
  std::string ctx_json;
};

struct error {
  error_kind kind;
  std::string detail;
  std::vector<field_error> fields;  // only for error_kind::invalid

  static error make(error_kind k, std::string d) { return error{k, std::move(d), {}}; }
};

// Thrown by infrastructure (a database, a broker) when it fails. transient()
// says whether the same request may succeed later (connection lost, timeout,
// server shutting down): transports answer those with 503, the rest with 500.
class infrastructure_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  virtual bool transient() const noexcept { return false; }
};

}  // namespace sl
