#include "broker/redis/detail/asio_events.hpp"

#include <hiredis/async.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <memory>

namespace sl::broker::redis::detail {
namespace {

namespace asio = boost::asio;
using wait_type = asio::posix::stream_descriptor::wait_type;

class asio_events : public std::enable_shared_from_this<asio_events> {
 public:
  asio_events(redisAsyncContext* ac, const asio::any_io_executor& ex, context_gone_fn on_gone)
      : ac_(ac), socket_(ex), on_gone_(std::move(on_gone)) {}

  void install(std::shared_ptr<asio_events> self) {
    self_ = std::move(self);
    socket_.assign(ac_->c.fd);
    ac_->ev.data = this;
    ac_->ev.addRead = [](void* p) { static_cast<asio_events*>(p)->want(read, true); };
    ac_->ev.delRead = [](void* p) { static_cast<asio_events*>(p)->want(read, false); };
    ac_->ev.addWrite = [](void* p) { static_cast<asio_events*>(p)->want(write, true); };
    ac_->ev.delWrite = [](void* p) { static_cast<asio_events*>(p)->want(write, false); };
    ac_->ev.cleanup = [](void* p) { static_cast<asio_events*>(p)->cleanup(); };
  }

  enum direction { read, write };
  // The hooks: hiredis wants (or no longer wants) to read or write.
  void want(direction d, bool on) {
    (d == read ? want_read_ : want_write_) = on;
    if (on) arm();
  }

 private:
  // Starts the waits the context wants and that are not started yet.
  void arm() {
    if (ac_ == nullptr) return;
    if (want_read_ && !reading_) {
      reading_ = true;
      socket_.async_wait(wait_type::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
        self->reading_ = false;
        if (!ec && self->ac_ != nullptr && self->want_read_) redisAsyncHandleRead(self->ac_);
        self->arm();
      });
    }
    if (want_write_ && !writing_) {
      writing_ = true;
      socket_.async_wait(wait_type::wait_write, [self = shared_from_this()](const boost::system::error_code& ec) {
        self->writing_ = false;
        if (!ec && self->ac_ != nullptr && self->want_write_) redisAsyncHandleWrite(self->ac_);
        self->arm();
      });
    }
  }

  // hiredis is freeing the context: stop watching, give the socket back (hiredis
  // closes it next), tell the owner. Pending waits complete with operation_aborted.
  void cleanup() {
    auto keep = std::move(self_);
    const redisAsyncContext* ac = ac_;
    ac_ = nullptr;
    want_read_ = want_write_ = false;
    if (socket_.is_open()) socket_.release();
    if (on_gone_) {
      auto fn = std::move(on_gone_);
      fn(*ac);
    }
  }

  redisAsyncContext* ac_;
  asio::posix::stream_descriptor socket_;
  context_gone_fn on_gone_;
  std::shared_ptr<asio_events> self_;
  bool want_read_ = false;
  bool want_write_ = false;
  bool reading_ = false;
  bool writing_ = false;
};

}  // namespace

bool attach_asio_events(redisAsyncContext* ac, const asio::any_io_executor& ex, context_gone_fn on_gone) {
  if (ac->ev.data != nullptr) return false;
  auto events = std::make_shared<asio_events>(ac, ex, std::move(on_gone));
  events->install(events);
  // hiredis 0.14 reports a finished connect on the first writable event.
  events->want(asio_events::write, true);
  return true;
}

}  // namespace sl::broker::redis::detail
