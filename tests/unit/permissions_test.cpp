#include <gtest/gtest.h>

#include "domain/permissions.hpp"

using namespace sl::domain;
using namespace sl::domain::permissions;

TEST(Permissions, ReadingPublicAndPrivateChannels) {
  EXPECT_TRUE(can_read(false, std::nullopt));
  EXPECT_FALSE(can_read(true, std::nullopt));
  EXPECT_TRUE(can_read(true, role::member));
}

TEST(Permissions, OnlyMembersPost) {
  EXPECT_FALSE(can_post(std::nullopt));
  EXPECT_TRUE(can_post(role::member));
}

TEST(Permissions, ChannelManagement) {
  EXPECT_TRUE(can_update_channel(role::owner));
  EXPECT_TRUE(can_update_channel(role::admin));
  EXPECT_FALSE(can_update_channel(role::member));
  EXPECT_TRUE(can_delete_channel(role::owner));
  EXPECT_FALSE(can_delete_channel(role::admin));
}

TEST(Permissions, OnlyOwnersGrantAdminAndNobodyGrantsOwner) {
  EXPECT_TRUE(can_grant(role::owner, role::admin));
  EXPECT_FALSE(can_grant(role::admin, role::admin));
  EXPECT_TRUE(can_grant(role::admin, role::member));
  EXPECT_FALSE(can_grant(role::member, role::member));
  EXPECT_FALSE(can_grant(role::owner, role::owner));
}

TEST(Permissions, RemovingMembersAndDeletingMessages) {
  EXPECT_TRUE(can_remove_member(std::nullopt, true));
  EXPECT_FALSE(can_remove_member(role::member, false));
  EXPECT_TRUE(can_remove_member(role::admin, false));
  EXPECT_TRUE(can_delete_message(true, std::nullopt));
  EXPECT_TRUE(can_delete_message(false, role::admin));
  EXPECT_FALSE(can_delete_message(false, role::member));
}
