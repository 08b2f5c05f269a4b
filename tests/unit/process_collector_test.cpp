#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "observability/disk_collector.hpp"
#include "observability/metrics.hpp"
#include "observability/process_collector.hpp"

using namespace sl::obs;

namespace {

// A real /proc/<pid>/stat line (Linux 6.1) with a command name holding a
// space and parentheses: utime 250, stime 50, starttime 12345,
// vsize 104857600, rss 2560 pages.
const std::string stat_line =
    "4242 (sig (nal) ink) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 50 0 0 20 0 9 0 12345 104857600 2560 "
    "18446744073709551615 1 1 0 0 0 0 0 4096 17663 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

const prometheus::MetricFamily* find(const std::vector<prometheus::MetricFamily>& fs, const std::string& name) {
  auto it = std::find_if(fs.begin(), fs.end(), [&](const auto& f) { return f.name == name; });
  return it == fs.end() ? nullptr : &*it;
}

}  // namespace

TEST(ProcessCollector, ParsesProcSelfStatInBaseUnits) {
  const auto s = parse_proc_stat(stat_line, 100, 4096);
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->cpu_seconds, 3.0);  // (250 + 50) ticks at 100 Hz
  EXPECT_DOUBLE_EQ(s->start_seconds, 123.45);
  EXPECT_DOUBLE_EQ(s->virtual_bytes, 104857600.0);
  EXPECT_DOUBLE_EQ(s->resident_bytes, 2560.0 * 4096);
}

TEST(ProcessCollector, RefusesWhatIsNotAStatLine) {
  EXPECT_FALSE(parse_proc_stat("", 100, 4096));
  EXPECT_FALSE(parse_proc_stat("4242 (short) S 1 2 3", 100, 4096));
  EXPECT_FALSE(
      parse_proc_stat("no parenthesis at all 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22", 100, 4096));
  auto garbled = stat_line;
  garbled.replace(garbled.find(" 250 "), 5, " x50 ");
  EXPECT_FALSE(parse_proc_stat(garbled, 100, 4096));
  EXPECT_FALSE(parse_proc_stat(stat_line, 0, 4096));
}

TEST(ProcessCollector, ReadsBootTimeFromProcStat) {
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"), 1700000000.0);
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\nbtimex 5\n"), std::nullopt);
  EXPECT_EQ(parse_boot_time("btime soon\n"), std::nullopt);
}

TEST(ProcessCollector, CollectsThisProcess) {
  const auto fs = process_collector{}.Collect();
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
                           "process_open_fds", "process_max_fds", "process_start_time_seconds"}) {
    const auto* f = find(fs, name);
    ASSERT_NE(f, nullptr) << name;
    ASSERT_EQ(f->metric.size(), 1u) << name;
  }
  EXPECT_EQ(find(fs, "process_cpu_seconds_total")->type, prometheus::MetricType::Counter);
  EXPECT_GT(find(fs, "process_open_fds")->metric[0].gauge.value, 2);  // stdin, stdout, stderr at least
  EXPECT_GT(find(fs, "process_resident_memory_bytes")->metric[0].gauge.value, 0);
  EXPECT_GT(find(fs, "process_start_time_seconds")->metric[0].gauge.value, 1.6e9);
}

TEST(DiskCollector, ReportsTheFilesystemOfAPath) {
  const auto fs = disk_collector("/").Collect();
  const auto* total = find(fs, "signalink_disk_total_bytes");
  const auto* free = find(fs, "signalink_disk_free_bytes");
  ASSERT_TRUE(total && free);
  EXPECT_EQ(total->metric[0].label.at(0).value, "/");
  EXPECT_GT(total->metric[0].gauge.value, 0);
  EXPECT_LE(free->metric[0].gauge.value, total->metric[0].gauge.value);
  EXPECT_TRUE(disk_collector("/no/such/directory").Collect().empty());
}

TEST(Metrics, ListsDeclaredFamiliesBeforeTheirFirstSeries) {
  auto& f = counter_family("signalink_test_declared_total", "A family without series yet");
  auto text = render_metrics();
  EXPECT_NE(text.find("# HELP signalink_test_declared_total A family without series yet\n"
                      "# TYPE signalink_test_declared_total counter\n"),
            std::string::npos);
  f.Add({{"k", "v"}}).Increment();
  text = render_metrics();
  EXPECT_NE(text.find("signalink_test_declared_total{k=\"v\"} 1"), std::string::npos);
  // Listed once: by the serializer now, not again as an empty family.
  EXPECT_EQ(text.find("# TYPE signalink_test_declared_total"), text.rfind("# TYPE signalink_test_declared_total"));
}
