#pragma once
// The JSON shapes of contract.md section 2.1, keys in the contract's order.

#include <boost/json/object.hpp>

#include "domain/model.hpp"

namespace sl::http::shapes {

boost::json::object user(const domain::user& u);
boost::json::object channel(const domain::channel& c);
boost::json::object member(const domain::member& m);
boost::json::object message(const domain::message& m);

}  // namespace sl::http::shapes
