#include "base/time.hpp"

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

std::optional<timestamp> parse_iso(std::string_view text) {
  using namespace std::chrono;
  int y, mo, d, h, mi, s;
  if (text.size() < 19) return std::nullopt;
  const std::string head(text.substr(0, 19));
  if (std::sscanf(head.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6 &&
      std::sscanf(head.c_str(), "%4d-%2d-%2d %2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6)
    return std::nullopt;
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
