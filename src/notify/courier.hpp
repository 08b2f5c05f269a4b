#pragma once
// The real courier of the notifier (notifier.hpp): webhook calls signed with
// HMAC-SHA256 and emails over SMTP, rendered from a claimed delivery.
// Thread-safe; blocking (the notifier runs it on its pool).

#include <chrono>
#include <string>

#include "delivery/mail_client.hpp"
#include "notify/notifier.hpp"

namespace sl::notify {

struct courier_settings {
  std::chrono::milliseconds timeout{5000};  // DELIVERY_TIMEOUT_MS, per webhook call
  delivery::smtp_settings smtp;             // SMTP_URL...; email is off when its url is empty
  std::string mail_from = "signalink@localhost";
  std::string app_name = "Signalink";
  std::string public_url;  // PUBLIC_URL: the web client, linked from emails
};

// The header that carries "sha256=<hex>" of the body, keyed by the webhook's secret.
inline constexpr const char* signature_header = "X-Signalink-Signature";
inline constexpr const char* delivery_header = "X-Signalink-Delivery";

courier make_courier(courier_settings s);

// The webhook body of a delivery: event, delivery_id, sent_at, notification,
// recipient, actor, channel.
std::string webhook_body(const domain::notify::delivery& d, timestamp sent_at);
// The email of a delivery (subject, text and HTML parts).
delivery::mail email_of(const domain::notify::delivery& d, const courier_settings& s);

}  // namespace sl::notify
