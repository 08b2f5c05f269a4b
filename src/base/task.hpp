#pragma once
// task<T>: the awaitable every asynchronous port returns. Awaited from a
// coroutine running on an Asio executor; resumes on that same executor.

#include <boost/asio/awaitable.hpp>

namespace sl {

template <typename T = void>
using task = boost::asio::awaitable<T>;

}  // namespace sl
