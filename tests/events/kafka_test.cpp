// Kafka-only behaviour: topic layout, records written by other producers,
// back-pressure, an unreachable or restarted broker, and a throughput figure.
// Registered only when SIGNALINK_TEST_KAFKA_BOOTSTRAP is set. The restart test
// also needs SIGNALINK_TEST_KAFKA_STOP and SIGNALINK_TEST_KAFKA_START: shell
// commands that stop the broker keeping its data and start it again, e.g.
//   KAFKA_PORT=59192 SIGNALINK_SCRATCH=/tmp/k KAFKA_KEEP_DATA=1 scripts/kafka-down
//   KAFKA_PORT=59192 SIGNALINK_SCRATCH=/tmp/k scripts/kafka-up

#include <librdkafka/rdkafka.h>

#include <boost/asio/ip/tcp.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/random.hpp"
#include "event_log_fixture.hpp"
#include "observability/metrics.hpp"

namespace sl::test {
namespace {

using domain::log_event;
using events::kafka::kafka_error;

class kafka_log : public event_log_fixture {};

INSTANTIATE_TEST_SUITE_P(kafka, kafka_log, testing::ValuesIn(kafka_if_configured()), backend_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(kafka_log);

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): nothing sets it
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

// The partition count of each topic, read with librdkafka directly (-1: missing).
std::map<std::string, int> partition_counts(const std::vector<std::string>& topics) {
  std::array<char, 256> err{};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", kafka_test_bootstrap()->c_str(), err.data(), err.size());
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size());
  if (rk == nullptr) throw std::runtime_error(err.data());
  std::map<std::string, int> counts;
  for (const auto& t : topics) counts[t] = -1;
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk, 1, nullptr, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < md->topic_cnt; ++i)
      if (auto it = counts.find(md->topics[i].topic); it != counts.end() && md->topics[i].err == 0)
        it->second = md->topics[i].partition_cnt;
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_destroy(rk);
  return counts;
}

// The value of one sample in the metrics exposition (0 when absent).
double metric(const std::string& sample) {
  std::istringstream in(obs::render_metrics());
  for (std::string line; std::getline(in, line);)
    if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
  return 0;
}

// A port on loopback where nothing listens.
std::uint16_t unused_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

TEST_P(kafka_log, ensure_topics_creates_each_topic_and_its_twin_with_the_configured_partitions) {
  auto s = kafka_settings();
  s.partitions = 4;
  auto& l = open_kafka_log(s);
  const auto a = "test." + random_hex(6);
  const auto b = "test." + random_hex(6) + ".dlq";  // already a dead-letter topic: no twin
  await(l.ensure_topics({a, b}));
  const auto counts = partition_counts({a, a + ".dlq", b, b + ".dlq"});
  EXPECT_EQ(counts.at(a), 4);
  EXPECT_EQ(counts.at(a + ".dlq"), 4);
  EXPECT_EQ(counts.at(b), 4);
  EXPECT_EQ(counts.at(b + ".dlq"), -1);
  // Existing topics are left as they are.
  s.partitions = 6;
  await(open_kafka_log(s).ensure_topics({a}));
  EXPECT_EQ(partition_counts({a}).at(a), 4);
}

TEST_P(kafka_log, a_record_from_another_producer_gets_its_id_from_the_payload) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): the test's only thread running commands
  if (std::system("command -v kcat >/dev/null 2>&1") != 0) GTEST_SKIP() << "kcat is not installed";
  const auto topic = new_topic();
  const auto id = event_id::generate();
  const auto path = testing::TempDir() + "kcat-" + random_hex(4) + ".jsonl";
  {
    std::ofstream f(path);
    f << R"({"event_id":")" << id.str() << R"(","event_type":"message.created","user_id":"u1"})" << '\n'
      << R"({"event_type":"message.edited","no_id":true})" << '\n'
      << "not json" << '\n';
  }
  // One partition, so the three keep their order.
  const auto cmd = "kcat -P -b " + *kafka_test_bootstrap() + " -t " + topic + " -k same-key -p 0 -l " + path;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;  // NOLINT(concurrency-mt-unsafe)
  std::remove(path.c_str());

  auto& s = subscribe(unique_group(), {topic});
  const auto got = read(s, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].id, id);
  EXPECT_EQ(got[0].event_type, "message.created");
  EXPECT_EQ(got[0].key, "same-key");
  EXPECT_TRUE(got[0].headers.empty());
  EXPECT_TRUE(got[1].id.value.is_nil());  // no id anywhere: poison for the consumer framework
  EXPECT_EQ(got[1].event_type, "message.edited");
  EXPECT_TRUE(got[2].id.value.is_nil());
  EXPECT_EQ(got[2].payload, "not json");
}

TEST_P(kafka_log, a_full_producer_queue_makes_appends_wait_not_fail) {
  auto s = kafka_settings();
  s.max_queued_records = 50;
  auto& l = open_kafka_log(s);
  const auto topic = new_topic(&l);
  std::vector<log_event> sent;
  for (int i = 0; i < 3000; ++i) sent.push_back(make_event(topic, "k" + std::to_string(i % 5)));
  const auto waits = metric("signalink_events_producer_waits_total");
  auto f1 = boost::asio::co_spawn(ctx_, l.sink().append({sent.begin(), sent.begin() + 1500}), boost::asio::use_future);
  await(l.sink().append({sent.begin() + 1500, sent.end()}));
  ASSERT_EQ(f1.wait_for(30s), std::future_status::ready);
  f1.get();
  EXPECT_GT(metric("signalink_events_producer_waits_total"), waits);  // the queue was full at times
  EXPECT_GE(metric(R"(signalink_events_produced_total{topic=")" + topic + R"("})"), 3000);
  auto& stream = subscribe(unique_group(), {topic});
  EXPECT_EQ(await(stream.lag()), 3000);
}

TEST_P(kafka_log, an_unreachable_broker_fails_appends_within_the_delivery_timeout) {
  auto s = kafka_settings();
  s.bootstrap = "127.0.0.1:" + std::to_string(unused_port());
  s.delivery_timeout = 2s;
  s.request_timeout = 1s;
  auto& l = open_kafka_log(s);
  const auto start = std::chrono::steady_clock::now();
  try {
    await(l.sink().append({make_event("test.unreachable", "k"), make_event("test.unreachable", "k")}), 10s);
    ADD_FAILURE() << "append succeeded without a broker";
  } catch (const kafka_error& e) {
    EXPECT_TRUE(e.transient()) << e.what();
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 1900ms);
  EXPECT_LT(took, 4s);
  EXPECT_FALSE(await(l.check(), 5s));
  EXPECT_THROW(await(l.ensure_topics({"test.unreachable"}), 5s), kafka_error);
}

TEST_P(kafka_log, appends_fail_while_the_broker_is_down_and_work_again_after_it_returns) {
  const auto stop_cmd = env("SIGNALINK_TEST_KAFKA_STOP");
  const auto start_cmd = env("SIGNALINK_TEST_KAFKA_START");
  if (!stop_cmd || !start_cmd) GTEST_SKIP() << "SIGNALINK_TEST_KAFKA_STOP/START are not set";
  auto s = kafka_settings();
  s.delivery_timeout = 2s;
  s.request_timeout = 2s;
  auto& l = open_kafka_log(s);
  const auto topic = new_topic(&l);
  await(l.sink().append({make_event(topic, "k")}));

  ASSERT_EQ(std::system(stop_cmd->c_str()), 0) << *stop_cmd;  // NOLINT(concurrency-mt-unsafe)
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(await(l.sink().append({make_event(topic, "k")}), 10s), kafka_error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  EXPECT_FALSE(await(l.check(), 5s));

  ASSERT_EQ(std::system(start_cmd->c_str()), 0) << *start_cmd;  // NOLINT(concurrency-mt-unsafe)
  // The producer reconnects by itself (with backoff): retry until an append goes through.
  const auto last = make_event(topic, "k");
  bool appended = false;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!appended && std::chrono::steady_clock::now() < deadline) {
    try {
      await(l.sink().append({last}), 10s);
      appended = true;
    } catch (const kafka_error&) {
    }
  }
  ASSERT_TRUE(appended) << "no append succeeded within 60 s of the broker's return";
  EXPECT_TRUE(await(l.check()));
  auto& stream = subscribe(unique_group(), {topic});
  const auto got = read(stream, 3);  // the first, maybe the one that failed, the last
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().id, last.id);
}

TEST_P(kafka_log, destroying_an_open_log_and_stream_neither_blocks_nor_leaks) {
  auto l = events::kafka::open_kafka_log(ctx_.get_executor(), kafka_settings());
  const auto topic = new_topic(l.get());
  await(l->sink().append({make_event(topic, "k")}));
  auto s = await(l->subscribe(unique_group(), {topic}));
  ASSERT_EQ(read(*s, 1).size(), 1u);
  const auto start = std::chrono::steady_clock::now();
  s.reset();  // no close(): librdkafka's teardown goes to the pool
  l.reset();  // no stop()
  EXPECT_LT(std::chrono::steady_clock::now() - start, 100ms);
  // The io_context goes on: another log works.
  auto& other = open_log();
  await(other.sink().append({make_event(topic, "k")}));
}

TEST_P(kafka_log, throughput_of_100k_small_events_in_batches_of_1000) {
  const auto topic = new_topic();
  constexpr int batches = 200;  // 100k sequential, then 100k four at a time
  constexpr int batch_size = 1000;
  std::vector<std::vector<log_event>> work(batches);
  for (int b = 0; b < batches; ++b)
    for (int i = 0; i < batch_size; ++i) work[b].push_back(make_event(topic, "channel-" + std::to_string(i % 64)));

  auto run = [&](int from, int to, int parallel) {
    const auto start = std::chrono::steady_clock::now();
    for (int b = from; b < to; b += parallel) {
      std::vector<std::future<void>> inflight;
      for (int p = 0; p < parallel && b + p < to; ++p)
        inflight.push_back(boost::asio::co_spawn(ctx_, log().sink().append(work[b + p]), boost::asio::use_future));
      for (auto& f : inflight) {
        ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
        f.get();
      }
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    const double rate = (to - from) * batch_size / took.count();
    std::cout << "[ throughput ] " << (to - from) * batch_size << " events, " << parallel
              << " append(s) of 1000 at a time: " << took.count() << " s, " << static_cast<long>(rate) << " events/s\n";
    RecordProperty("events_per_second_parallel_" + std::to_string(parallel), static_cast<int>(rate));
  };
  // The first append waits for the producer id and the topic's metadata: not measured.
  await(log().sink().append({make_event(topic, "warm-up")}));
  run(0, 100, 1);
  run(100, 200, 4);
}

}  // namespace
}  // namespace sl::test
