#pragma once
// Who may do what in a channel (contract.md section 2.2). Pure functions of
// the channel's privacy and the caller's role (nullopt: not a member).

#include <optional>

#include "domain/model.hpp"

namespace sl::domain::permissions {

using membership = std::optional<role>;

inline bool is_manager(membership m) { return m == role::owner || m == role::admin; }
// Details, members, history and real-time subscription.
inline bool can_read(bool is_private, membership m) { return !is_private || m.has_value(); }
inline bool can_post(membership m) { return m.has_value(); }
inline bool can_update_channel(membership m) { return is_manager(m); }
inline bool can_delete_channel(membership m) { return m == role::owner; }
inline bool can_add_members(membership m) { return is_manager(m); }
// Only an owner grants admin; nobody grants owner.
inline bool can_grant(membership actor, role granted) {
  return granted == role::member ? is_manager(actor) : granted == role::admin && actor == role::owner;
}
// Anyone removes themself; managers remove others.
inline bool can_remove_member(membership actor, bool self) { return self || is_manager(actor); }
inline bool can_edit_message(bool is_author) { return is_author; }
inline bool can_delete_message(bool is_author, membership m) { return is_author || is_manager(m); }

}  // namespace sl::domain::permissions
