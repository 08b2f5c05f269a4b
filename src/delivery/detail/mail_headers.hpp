#pragma once
// The few header values send_mail writes itself. Pure functions, thread-safe.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sl::delivery::detail {

// RFC 5322 date-time in UTC, e.g. "Tue, 04 Mar 2025 09:05:07 +0000". Day and
// month names are spelled here, not by the C locale.
std::string rfc5322_date(std::chrono::system_clock::time_point t);

// A Subject value safe to put on a header line. Printable ASCII up to 900
// characters is kept as is; anything else (UTF-8, control characters, very
// long text) becomes RFC 2047 "=?UTF-8?B?...?=" words of at most 75
// characters, never splitting a UTF-8 sequence, folded with CRLF + space.
std::string encode_subject(std::string_view subject);

// The addr-spec of "user@host" or "Display Name <user@host>" for the SMTP
// envelope; nullopt when the text holds control characters or non-ASCII, or
// is not of one of those two shapes (no '@', empty parts, stray '<' '>').
std::optional<std::string> envelope_address(std::string_view mailbox);

// A fresh "<random@domain>" Message-ID, the domain taken from `addr_spec`.
std::string message_id(std::string_view addr_spec);

}  // namespace sl::delivery::detail
