#pragma once
// The Lua scripts that keep presence atomic in Redis. Every script takes the
// key prefix as ARGV[1] and this node's id as ARGV[2], and builds its keys
// from them (standalone Redis only: a cluster would need them in KEYS):
//
//   <prefix>presence:<user>     hash  node id -> that node's open sockets (> 0)
//   <prefix>node:<node>:users   set   users with sockets on that node
//   <prefix>node:<node>:alive   "1" with a TTL, refreshed by the node's heartbeat
//   <prefix>nodes               set   node ids that may hold counts
//   <prefix>viewers:<channel>   hash  "<node>|<user>" -> that node's sockets
//                                     subscribed to the channel (> 0)
//   <prefix>node:<node>:views   set   "<channel>|<user>" of that node's fields
//                                     in the viewers hashes
//
// A user is online while their hash exists. Every transition of a hash from
// absent to present (online) or back (offline) happens inside exactly one
// script run, which reports it to its caller: so each one is announced once.
// Viewer fields are written by their own node only (plain HSET/HDEL of the
// count it knows, not scripts), and removed by withdraw() with the node.

#include <array>
#include <string_view>

namespace sl::broker::redis::detail {

enum class script { opened, closed, beat, sweep, reregister, withdraw, online, reviewers, viewing, count_ };

// Removes a node's counts (presence and viewers) and keys; returns the users
// that thereby went offline.
inline constexpr std::string_view withdraw_fn = R"lua(
local function withdraw(p, node)
  local ukey = p .. 'node:' .. node .. ':users'
  local vkey = p .. 'node:' .. node .. ':views'
  local gone = {}
  for _, u in ipairs(redis.call('SMEMBERS', ukey)) do
    local pkey = p .. 'presence:' .. u
    if redis.call('HDEL', pkey, node) == 1 and redis.call('EXISTS', pkey) == 0 then gone[#gone + 1] = u end
  end
  for _, cu in ipairs(redis.call('SMEMBERS', vkey)) do
    local c, u = string.match(cu, '^(.*)|([^|]*)$')
    if c then redis.call('HDEL', p .. 'viewers:' .. c, node .. '|' .. u) end
  end
  redis.call('DEL', ukey, vkey, p .. 'node:' .. node .. ':alive')
  redis.call('SREM', p .. 'nodes', node)
  return gone
end
)lua";

// Indexed by `script`.
inline constexpr std::array<std::string_view, static_cast<std::size_t>(script::count_)> script_bodies{
    // opened(prefix, node, user) -> 1 when this is the user's first socket anywhere
    R"lua(
local p, node, user = ARGV[1], ARGV[2], ARGV[3]
local pkey = p .. 'presence:' .. user
local n = redis.call('HINCRBY', pkey, node, 1)
redis.call('SADD', p .. 'node:' .. node .. ':users', user)
redis.call('SADD', p .. 'nodes', node)
if n == 1 and redis.call('HLEN', pkey) == 1 then return 1 end
return 0
)lua",
    // closed(prefix, node, user) -> 1 when this was the user's last socket anywhere
    R"lua(
local p, node, user = ARGV[1], ARGV[2], ARGV[3]
local pkey = p .. 'presence:' .. user
if not redis.call('HGET', pkey, node) then return 0 end
if redis.call('HINCRBY', pkey, node, -1) > 0 then return 0 end
redis.call('HDEL', pkey, node)
redis.call('SREM', p .. 'node:' .. node .. ':users', user)
if redis.call('EXISTS', pkey) == 0 then return 1 end
return 0
)lua",
    // beat(prefix, node, ttl_ms) -> 1 when the heartbeat key still existed
    // (0: it expired, so this node may have been swept and must re-register)
    R"lua(
local p, node = ARGV[1], ARGV[2]
local alive = p .. 'node:' .. node .. ':alive'
local existed = redis.call('EXISTS', alive)
redis.call('SET', alive, '1', 'PX', ARGV[3])
redis.call('SADD', p .. 'nodes', node)
return existed
)lua",
    // sweep(prefix, node) -> users that went offline because their nodes'
    // heartbeats expired (the other nodes' counts are removed)
    R"lua(
local p, me = ARGV[1], ARGV[2]
local gone = {}
for _, node in ipairs(redis.call('SMEMBERS', p .. 'nodes')) do
  if node ~= me and redis.call('EXISTS', p .. 'node:' .. node .. ':alive') == 0 then
    for _, u in ipairs(withdraw(p, node)) do gone[#gone + 1] = u end
  end
end
return gone
)lua",
    // reregister(prefix, node, ttl_ms, user, count, user, count...) -> {online, offline}:
    // sets this node's counts to exactly the given ones (after an outage)
    R"lua(
local p, node = ARGV[1], ARGV[2]
local ukey = p .. 'node:' .. node .. ':users'
redis.call('SET', p .. 'node:' .. node .. ':alive', '1', 'PX', ARGV[3])
redis.call('SADD', p .. 'nodes', node)
local want = {}
for i = 4, #ARGV - 1, 2 do want[ARGV[i]] = ARGV[i + 1] end
local online, offline = {}, {}
for _, u in ipairs(redis.call('SMEMBERS', ukey)) do
  if want[u] == nil then
    local pkey = p .. 'presence:' .. u
    if redis.call('HDEL', pkey, node) == 1 and redis.call('EXISTS', pkey) == 0 then offline[#offline + 1] = u end
    redis.call('SREM', ukey, u)
  end
end
for u, n in pairs(want) do
  local pkey = p .. 'presence:' .. u
  if redis.call('EXISTS', pkey) == 0 then online[#online + 1] = u end
  redis.call('HSET', pkey, node, n)
  redis.call('SADD', ukey, u)
end
return {online, offline}
)lua",
    // withdraw(prefix, node) -> users that went offline (this node says goodbye)
    R"lua(
return withdraw(ARGV[1], ARGV[2])
)lua",
    // online(prefix, node, user...) -> the users with a socket on a node whose
    // heartbeat is alive
    R"lua(
local p = ARGV[1]
local out = {}
for i = 3, #ARGV do
  for _, node in ipairs(redis.call('HKEYS', p .. 'presence:' .. ARGV[i])) do
    if redis.call('EXISTS', p .. 'node:' .. node .. ':alive') == 1 then
      out[#out + 1] = ARGV[i]
      break
    end
  end
end
return out
)lua",
    // reviewers(prefix, node, channel|user, count, channel|user, count...) -> 0:
    // sets this node's viewer counts to exactly the given ones (after an outage)
    R"lua(
local p, node = ARGV[1], ARGV[2]
local vkey = p .. 'node:' .. node .. ':views'
local want = {}
for i = 3, #ARGV - 1, 2 do want[ARGV[i]] = ARGV[i + 1] end
for _, cu in ipairs(redis.call('SMEMBERS', vkey)) do
  if want[cu] == nil then
    local c, u = string.match(cu, '^(.*)|([^|]*)$')
    if c then redis.call('HDEL', p .. 'viewers:' .. c, node .. '|' .. u) end
    redis.call('SREM', vkey, cu)
  end
end
for cu, n in pairs(want) do
  local c, u = string.match(cu, '^(.*)|([^|]*)$')
  if c then
    redis.call('SADD', vkey, cu)
    redis.call('HSET', p .. 'viewers:' .. c, node .. '|' .. u, n)
  end
end
return 0
)lua",
    // viewing(prefix, node, channel, user...) -> the users with a socket
    // subscribed to the channel on a node whose heartbeat is alive. One pass
    // over the channel's viewers (usually far fewer than the users asked about).
    R"lua(
local p, c = ARGV[1], ARGV[3]
local alive, seen = {}, {}
for _, f in ipairs(redis.call('HKEYS', p .. 'viewers:' .. c)) do
  local node, u = string.match(f, '^(.*)|([^|]*)$')
  if node then
    if alive[node] == nil then alive[node] = redis.call('EXISTS', p .. 'node:' .. node .. ':alive') == 1 end
    if alive[node] then seen[u] = true end
  end
end
local out = {}
for i = 4, #ARGV do
  if seen[ARGV[i]] then out[#out + 1] = ARGV[i] end
end
return out
)lua",
};

}  // namespace sl::broker::redis::detail
