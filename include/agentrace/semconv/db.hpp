// SPDX-License-Identifier: MIT
// Semantic-convention keys for database client spans (db.*, semconv v1.44, stable).
#pragma once

#include <cstdint>
#include <string>

#include "agentrace/attributes.hpp"
#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::semconv::db {

/// The database management system (DBMS) product, as identified by the client (required).
inline constexpr key<std::string> system_name{"db.system.name"};
/// The name of the database, fully qualified within the server address and port ("db.namespace").
inline constexpr key<std::string> namespace_{"db.namespace"};
/// The name of the collection/table the operation acts on (only when it is a single one).
inline constexpr key<std::string> collection_name{"db.collection.name"};
/// The name of the operation or command being executed, e.g. SELECT.
inline constexpr key<std::string> operation_name{"db.operation.name"};
/// Number of queries in a batch operation (only when >= 2).
inline constexpr key<std::int64_t> operation_batch_size{"db.operation.batch.size"};
/// The database query being executed: parameterized, or sanitized (literals replaced by `?`).
inline constexpr key<std::string> query_text{"db.query.text"};
/// Low-cardinality summary of the query, e.g. "SELECT orders"; also the span name when set.
inline constexpr key<std::string> query_summary{"db.query.summary"};
/// Number of rows returned by the operation (opt-in).
inline constexpr key<std::int64_t> response_returned_rows{"db.response.returned_rows"};
/// Database response status code, as a string (e.g. "08P01", or SQLite's result code "1").
inline constexpr key<std::string> response_status_code{"db.response.status_code"};
/// The name of a stored procedure the operation called.
inline constexpr key<std::string> stored_procedure_name{"db.stored_procedure.name"};

/// Well-known values of db.system.name.
namespace system_name_values {
inline constexpr static_string sqlite{"sqlite"};
inline constexpr static_string postgresql{"postgresql"};
inline constexpr static_string mysql{"mysql"};
inline constexpr static_string mariadb{"mariadb"};
inline constexpr static_string microsoft_sql_server{"microsoft.sql_server"};
inline constexpr static_string oracle_db{"oracle.db"};
inline constexpr static_string clickhouse{"clickhouse"};
inline constexpr static_string redis{"redis"};
inline constexpr static_string mongodb{"mongodb"};
inline constexpr static_string other_sql{"other_sql"};
}  // namespace system_name_values

}  // namespace agentrace::semconv::db

AGENTRACE_DETAIL_VISIBILITY_END
