#pragma once
// A lexical, conservative guess whether a statement only reads. Used to decide whether the
// statements of a group may share one Sync (one implicit transaction): a false "no" only costs
// speed, a false "yes" would couple a write to its neighbours, so anything doubtful is "no".

#include <string>
#include <string_view>

namespace enrich::pg {

/// True when `sql` starts with SELECT, VALUES or TABLE (after whitespace and comments), or with
/// WITH, and no word anywhere in it is one of INSERT, UPDATE, DELETE, MERGE, INTO (SELECT INTO
/// creates a table), SHARE (FOR SHARE / FOR KEY SHARE row locks), COPY, CALL, LOCK, or it holds
/// a ';' before its end. Words inside literals count too: that can only make the answer "no".
bool is_read_only_sql(std::string_view sql);

/// The statement's first keyword in upper case, after whitespace and comments: SELECT, WITH,
/// INSERT, ... (OpenTelemetry's db.operation.name). Empty when it starts with no word.
std::string operation_name(std::string_view sql);

}  // namespace enrich::pg
