# Warnings, sanitizers and the Asio/Beast separate-compilation switches shared by every target.
# GCC 12 (Debian 12's) miscompiles coroutines: an aggregate or lambda temporary
# in a co_await expression is destroyed twice (a double free at run time).
# The presets build with clang 14, which gets this right.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  message(FATAL_ERROR "GCC ${CMAKE_CXX_COMPILER_VERSION} miscompiles C++20 coroutines; "
                      "configure with a preset (clang++-14) or GCC >= 13")
endif()
add_compile_options(-Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
if(SL_WERROR)
  add_compile_options(-Werror)
endif()
if(SL_SANITIZE)
  # clang 14 cannot emit UBSan's `function` check for coroutines ("Cannot
  # represent a difference across sections"), so that one check is off.
  add_compile_options(-fsanitize=address,undefined -fno-sanitize=function -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined -fno-sanitize=function)
endif()

# Asio and Beast are compiled once, in src/net; every translation unit must agree on this.
add_compile_definitions(
  BOOST_ASIO_SEPARATE_COMPILATION
  BOOST_BEAST_SEPARATE_COMPILATION
  BOOST_ASIO_NO_DEPRECATED
  BOOST_ASIO_DISABLE_BOOST_COROUTINE
)
