// Pattern-matched lists and registered external addresses (docs/lists.md): one layer under
// the CLI's `mailstead list …` / `mailstead user address …` and the API's /api/v1/lists,
// like admin_ops.hpp. Changes are planned into a Change and committed by the caller.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lists/lists.hpp"
#include "lists/settings.hpp"
#include "ops/admin_ops.hpp"

namespace mailstead::admin {

class ListOps {
 public:
  ListOps(Ops& ops, const lists::Settings& settings) : ops_(ops), settings_(settings) {}

  // The site domain defaults to [lists] site_domain. Errors name the field ("name",
  // "pattern", "templates", "site_domain").
  Change<lists::ListRecord> plan_add(std::string_view name, std::string_view pattern,
                                     const std::vector<std::string>& templates, std::string_view site_domain);
  Change<void> plan_remove(std::string_view name);
  std::vector<lists::ListRecord> list();
  Result<lists::ListRecord> get(std::string_view name);

  // External addresses registered to a user (by the user's primary address).
  Change<void> plan_add_address(std::string_view user, std::string_view external);
  Change<void> plan_remove_address(std::string_view user, std::string_view external);
  Result<std::vector<std::string>> addresses(std::string_view user);

 private:
  Ops& ops_;
  const lists::Settings& settings_;
};

}  // namespace mailstead::admin
