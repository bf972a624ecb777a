#pragma once
// The text side of batching (pg/batcher.hpp): one statement over an array of keys instead of one
// statement per key, and its result split back per key.
//
//   SELECT k.ord, q.* FROM unnest($1::T[]) WITH ORDINALITY AS k(key, ord)
//     CROSS JOIN LATERAL (<the statement, $1 replaced by k.key>) AS q
//
// The statement runs once per key, as a LATERAL subquery, so each key gets exactly its own rows:
// its ORDER BY and LIMIT apply per key, a key without rows gets none, and a NULL key compares as
// NULL did. Its other parameters ($2, ...) keep their numbers: the batch's callers share them.

#include <libpq-fe.h>

#include <string>
#include <string_view>
#include <vector>

#include "enrich/error.hpp"
#include "enrich/pg/params.hpp"

namespace enrich::pg {

/// Is `type` a plain SQL type name for the key (`bigint`, `text`, `uuid`, `public.my_type`,
/// `varchar(20)`)? Letters, digits, `_`, spaces and dots, then at most one list of numbers in
/// parentheses. Arrays are refused: unnest would flatten them.
bool valid_batch_key_type(std::string_view type);

/// The batched form of `sql`, whose key is `$1` of type `key_type`; an invalid_argument error if
/// `sql` has no `$1` outside literals, identifiers and comments.
Result<std::string> batch_statement(std::string_view sql, std::string_view key_type);

/// `keys` as the text of a Postgres array literal: every value quoted and escaped, NULL bare.
std::string array_literal(const std::vector<const Param*>& keys);

/// Splits a batched statement's result into one result per key (index 0 is the array's first
/// key), without the ordinal column; rows keep their order. Returns an empty vector if the
/// result is not a batched one (no leading bigint column, an ordinal out of range) or libpq
/// ran out of memory. The caller owns the results (PQclear).
std::vector<PGresult*> split_batch_result(const PGresult* batched, std::size_t keys);

}  // namespace enrich::pg
