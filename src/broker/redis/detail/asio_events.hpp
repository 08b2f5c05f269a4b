#pragma once
// The hiredis ↔ Asio adapter (hiredis 0.14 ships adapters for libev, libevent,
// libuv… but none for Asio). It fills a redisAsyncContext's ev hooks:
// addRead/addWrite start an async_wait on a stream_descriptor that watches the
// context's socket without owning it, and its completion calls
// redisAsyncHandleRead/Write; delRead/delWrite only lower the interest (a wait
// already started finds nothing to do); cleanup, called by hiredis when it
// frees the context, releases the socket (hiredis closes it) and reports.
//
// Threading: everything runs on the executor given to attach() (a strand): the
// hooks are called from hiredis calls made on it, the waits complete on it.
// Lifetime: the adapter belongs to the context until cleanup; pending waits
// hold it alive after that, and then do nothing.

#include <boost/asio/any_io_executor.hpp>
#include <functional>

struct redisAsyncContext;

namespace sl::broker::redis::detail {

// Called once, from inside hiredis, when it frees the context (on its own
// after an error or a closed socket, or from redisAsyncFree). The context and
// its error text are still readable; it must not be freed or used to send.
using context_gone_fn = std::function<void(const redisAsyncContext&)>;

// Attaches the adapter and starts waiting for the socket to be writable (the
// non-blocking connect's completion). False if the context already has one.
bool attach_asio_events(redisAsyncContext* ac, const boost::asio::any_io_executor& ex, context_gone_fn on_gone);

}  // namespace sl::broker::redis::detail
