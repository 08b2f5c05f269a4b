#pragma once
// One e-mail delivery over SMTP through libcurl.
//
// Blocking: send_mail returns when the server accepted or refused the message,
// the connection failed, or `timeout` passed; run it on a worker thread, never
// an I/O thread. Thread-safe: each call opens its own connection (no reuse).
// libcurl's global set-up is done on first use (see curl_global.hpp).

#include <chrono>
#include <string>

namespace sl::delivery {

struct smtp_settings {
  // smtp://host:port (plain, or STARTTLS with `starttls`) or smtps://host:port
  // (TLS from the first byte). Other schemes are refused.
  std::string url;
  std::string username, password;            // AUTH only when `username` is not empty
  bool starttls = false;                     // require STARTTLS on smtp://; fail if the server lacks it
  std::chrono::milliseconds timeout{10000};  // whole session; also the connect deadline
};

struct mail {
  // "user@host" or "Display Name <user@host>", printable ASCII only.
  std::string from;
  std::string to;
  std::string subject;  // UTF-8; RFC 2047-encoded when not plain ASCII
  std::string text;     // UTF-8 text/plain part, always sent
  std::string html;     // UTF-8 text/html part; none when empty
};

struct mail_outcome {
  bool delivered = false;  // the server accepted the message (250 after DATA)
  // Why not delivered: "timeout", "invalid from/to address", or libcurl's
  // message with the last SMTP reply code, e.g. "... (SMTP 550)".
  std::string error;
};

// Sends one message to one recipient: multipart/alternative (text, then
// html), or multipart/mixed holding only the text part when `html` is empty.
// Parts are quoted-printable with CRLF line ends (bare LF or CR converted). Date,
// Message-ID, From, To and Subject headers. TLS peers are verified against the
// system CA store. Failures of the delivery are values; throws only when
// libcurl cannot allocate or refuses an option (out of memory).
mail_outcome send_mail(const smtp_settings& s, const mail& m);

}  // namespace sl::delivery
