#pragma once
// result<T>: either a T or an sl::error. Used for every expected failure
// (not found, forbidden, invalid...). Infrastructure failures throw instead.

#include <cassert>
#include <utility>
#include <variant>

#include "base/error.hpp"

namespace sl {

template <typename T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(error e) : v_(std::in_place_index<1>, std::move(e)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

  const error& err() const& {
    assert(!ok());
    return std::get<1>(v_);
  }
  error&& err() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, error> v_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(error e) : e_(std::move(e)), failed_(true) {}

  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  const error& err() const& {
    assert(failed_);
    return e_;
  }
  error&& err() && {
    assert(failed_);
    return std::move(e_);
  }

 private:
  error e_{};
  bool failed_ = false;
};

inline error fail(error_kind k, std::string detail) { return error::make(k, std::move(detail)); }

}  // namespace sl
