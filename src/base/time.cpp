#include "base/time.hpp"

#include <charconv>
#include <cstdio>

namespace sl {

std::string format_iso(timestamp t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<long long>(hms.subseconds().count()));
  return buf;
}

namespace {

// The fixed-width decimal field text[at, at+width), or -1.
int field(std::string_view text, std::size_t at, std::size_t width) {
  int v = 0;
  const auto* first = text.data() + at;
  auto [end, ec] = std::from_chars(first, first + width, v);
  return ec == std::errc() && end == first + width ? v : -1;
}

}  // namespace

std::optional<timestamp> parse_iso(std::string_view text) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS (or a space for the T).
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != ' ') || text[13] != ':' ||
      text[16] != ':')
    return std::nullopt;
  const int y = field(text, 0, 4), mo = field(text, 5, 2), d = field(text, 8, 2);
  const int h = field(text, 11, 2), mi = field(text, 14, 2), s = field(text, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) return std::nullopt;
  long long frac = 0;
  std::size_t i = 19;
  if (i < text.size() && text[i] == '.') {
    int digits = 0;
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (digits < 6) {
        frac = frac * 10 + (text[i] - '0');
        ++digits;
      }
    }
    for (; digits < 6; ++digits) frac *= 10;
  }
  const std::string_view rest = text.substr(i);
  if (!(rest.empty() || rest == "Z" || rest == "+00:00" || rest == "+00")) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return timestamp{sys_days{ymd}} + hours{h} + minutes{mi} + seconds{s} + microseconds{frac};
}

std::int64_t to_unix_micros(timestamp t) { return t.time_since_epoch().count(); }
timestamp from_unix_micros(std::int64_t us) { return timestamp{std::chrono::microseconds{us}}; }

}  // namespace sl
