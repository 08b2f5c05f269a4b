#include "delivery/detail/mail_headers.hpp"

#include <time.h>

#include <algorithm>
#include <cstdio>

#include "base/random.hpp"

namespace sl::delivery::detail {

std::string rfc5322_date(std::chrono::system_clock::time_point t) {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t secs = std::chrono::system_clock::to_time_t(t);
  struct tm utc {};
  gmtime_r(&secs, &utc);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[utc.tm_wday], utc.tm_mday,
                months[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return buf;
}

namespace {

bool printable_ascii(char c) { return c >= 0x20 && c <= 0x7e; }

std::string base64(std::string_view in) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
                 static_cast<unsigned char>(in[i + 2]);
    out += {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], alphabet[v & 63]};
  }
  if (std::size_t rest = in.size() - i; rest > 0) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += {alphabet[v >> 18], alphabet[(v >> 12) & 63], rest == 2 ? alphabet[(v >> 6) & 63] : '=', '='};
  }
  return out;
}

// Length of the UTF-8 sequence starting with `lead`; 1 for a stray byte, which
// then travels alone (the text is not ours to repair).
std::size_t sequence_length(unsigned char lead) {
  if (lead >= 0xf0 && lead < 0xf8) return 4;
  if (lead >= 0xe0) return lead < 0xf0 ? 3 : 1;
  if (lead >= 0xc0) return 2;
  return 1;
}

}  // namespace

std::string encode_subject(std::string_view subject) {
  if (subject.size() <= 900 && std::all_of(subject.begin(), subject.end(), printable_ascii))
    return std::string(subject);
  // "=?UTF-8?B?" + "?=" is 12 characters; 63 left hold 15 base64 quads (45 bytes).
  constexpr std::size_t max_chunk = 45;
  std::string out;
  std::size_t pos = 0;
  while (pos < subject.size()) {
    std::size_t end = pos;
    while (end < subject.size()) {
      std::size_t next = std::min(subject.size(), end + sequence_length(static_cast<unsigned char>(subject[end])));
      if (next - pos > max_chunk) break;
      end = next;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(subject.substr(pos, end - pos)) + "?=";
    pos = end;
  }
  return out;
}

std::optional<std::string> envelope_address(std::string_view mailbox) {
  if (!std::all_of(mailbox.begin(), mailbox.end(), printable_ascii)) return std::nullopt;
  std::string_view addr = mailbox;
  if (auto open = mailbox.find('<'); open != std::string_view::npos) {
    if (mailbox.back() != '>') return std::nullopt;
    addr = mailbox.substr(open + 1, mailbox.size() - open - 2);
  }
  auto at = addr.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == addr.size()) return std::nullopt;
  if (addr.find_first_of("<> ,;") != std::string_view::npos) return std::nullopt;
  return std::string(addr);
}

std::string message_id(std::string_view addr_spec) {
  return "<" + fast_random_id() + std::string(addr_spec.substr(addr_spec.rfind('@'))) + ">";
}

}  // namespace sl::delivery::detail
