#include "json/pg_array.hpp"

#include "types/pg_text.hpp"

namespace enrich::json {
namespace {

class TreeBuilder final : public types::ArrayVisitor {
 public:
  bool begin_array() override {
    PgArrayItem item;
    item.is_array = true;
    stack_.push_back(std::move(item));
    return true;
  }
  bool end_array() override {
    PgArrayItem done = std::move(stack_.back());
    stack_.pop_back();
    if (stack_.empty())
      root_ = std::move(done);
    else
      stack_.back().children.push_back(std::move(done));
    return true;
  }
  bool element(std::string_view text, bool null) override {
    PgArrayItem item;
    if (!null) item.text = std::string(text);
    stack_.back().children.push_back(std::move(item));
    return true;
  }
  std::optional<PgArrayItem> take() { return std::move(root_); }

 private:
  std::vector<PgArrayItem> stack_;
  std::optional<PgArrayItem> root_;
};

}  // namespace

std::optional<PgArrayItem> parse_pg_array(std::string_view text) {
  TreeBuilder builder;
  if (!types::visit_pg_array(text, builder, false)) return std::nullopt;
  return builder.take();
}

}  // namespace enrich::json
