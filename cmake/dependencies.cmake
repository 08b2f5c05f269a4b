# Every dependency comes from Debian packages (scripts/install-deps installs them).
find_package(Boost 1.81.0 EXACT REQUIRED CONFIG COMPONENTS json url)
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(prometheus-cpp REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(sodium REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(libpq REQUIRED IMPORTED_TARGET libpq)
# hiredis 0.14 (Debian 12): the Redis broker drives its async API on Asio.
pkg_check_modules(hiredis REQUIRED IMPORTED_TARGET hiredis)
# librdkafka 2.0 (Debian 12): the Kafka event log drives its C API on Asio.
pkg_check_modules(rdkafka REQUIRED IMPORTED_TARGET rdkafka)
# jemalloc replaces glibc malloc in the binaries: many small allocations cross
# threads (I/O threads, database threads), where glibc's arenas contend
# (docs/benchmarks.md: +50% REST writes on SQLite).
pkg_check_modules(jemalloc REQUIRED IMPORTED_TARGET jemalloc)
if(SL_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
