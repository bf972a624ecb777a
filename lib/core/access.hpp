#pragma once
// The library's own access to the private parts of public classes (their pimpls), so that the
// public headers show the public API only.

#include <functional>
#include <memory>
#include <utility>

#include "enrich/client.hpp"
#include "enrich/plan.hpp"

namespace enrich {
namespace detail {

struct Access {
  using PlanImpl = Plan::Impl;
  static const std::shared_ptr<const PlanImpl>& impl(const Plan& plan) { return plan.impl_; }
  static Plan make_plan(std::shared_ptr<const PlanImpl> impl) { return Plan(std::move(impl)); }
  /// Runs `task` on one of the client's I/O threads; false (task not run) once the client is
  /// closed, or in a forked child. Defined in lib/client.cpp.
  static bool post_to_io(Client& client, std::function<void()> task);
};

}  // namespace detail

/// A plan's contents (lib/plan/plan_model.hpp).
using PlanImpl = detail::Access::PlanImpl;

}  // namespace enrich
