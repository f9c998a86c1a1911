// SPDX-License-Identifier: MIT
// The SQL agent's data: three real SQLite databases (shop, hr, flights), created and filled
// deterministically on first run in a data directory, and a per-thread connection set that runs
// queries inside database client spans.
#pragma once

#include <sqlite3.h>
#include <unistd.h>

#include <agentrace/genai.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sql_agent {

/// A data source the router can pick.
struct data_source {
  std::string id;           // gen_ai.data_source.id and db.namespace
  std::string description;  // what the router is told
  std::string schema;       // what the SQL writer is told
};

inline const std::vector<data_source>& data_sources() {
  static const std::vector<data_source> v = {
      {"shop", "online shop: customers, products, orders (2024)",
       "customers(id INTEGER PRIMARY KEY, name TEXT, email TEXT, country TEXT, signup_date TEXT)\n"
       "products(id INTEGER PRIMARY KEY, name TEXT, category TEXT, price REAL)\n"
       "orders(id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), "
       "product_id INTEGER REFERENCES products(id), quantity INTEGER, order_date TEXT "
       "(YYYY-MM-DD), status TEXT ('shipped','pending','cancelled'))"},
      {"hr", "company staff: departments and employees with salaries and hire dates",
       "departments(id INTEGER PRIMARY KEY, name TEXT, location TEXT)\n"
       "employees(id INTEGER PRIMARY KEY, name TEXT, department_id INTEGER REFERENCES "
       "departments(id), title TEXT, salary INTEGER, hire_date TEXT (YYYY-MM-DD))"},
      {"flights", "airline schedule: airports and flights with carriers, prices and delays",
       "airports(code TEXT PRIMARY KEY, city TEXT, country TEXT)\n"
       "flights(id INTEGER PRIMARY KEY, carrier TEXT, origin TEXT REFERENCES airports(code), "
       "destination TEXT REFERENCES airports(code), departure TEXT (YYYY-MM-DD HH:MM), "
       "duration_min INTEGER, price REAL, status TEXT ('on_time','delayed','cancelled'))"},
  };
  return v;
}

inline const data_source* find_source(std::string_view id) {
  for (const auto& s : data_sources())
    if (s.id == id) return &s;
  return nullptr;
}

/// Reference data the question generator draws from (also used to fill the databases).
namespace seed_data {
inline constexpr const char* countries[] = {"Germany", "France", "Spain",
                                            "Italy",   "Japan",  "Brazil"};
inline constexpr const char* first_names[] = {
    "Ada",     "Alan",   "Grace", "Linus", "Barbara", "Ken", "Margaret",  "Dennis",
    "Frances", "Edsger", "Radia", "John",  "Hedy",    "Tim", "Katherine", "Bjarne"};
inline constexpr const char* last_names[] = {"Lovelace", "Turing",      "Hopper",   "Torvalds",
                                             "Liskov",   "Thompson",    "Hamilton", "Ritchie",
                                             "Allen",    "Dijkstra",    "Perlman",  "Backus",
                                             "Lamarr",   "Berners-Lee", "Johnson",  "Stroustrup"};
struct product {
  const char* name;
  const char* category;
  double price;
};
inline constexpr product products[] = {{"Mechanical Keyboard", "electronics", 89.0},
                                       {"USB-C Hub", "electronics", 39.5},
                                       {"Noise-cancelling Headphones", "electronics", 199.0},
                                       {"Standing Desk", "furniture", 420.0},
                                       {"Ergonomic Chair", "furniture", 310.0},
                                       {"Desk Lamp", "furniture", 45.0},
                                       {"Espresso Beans 1kg", "grocery", 24.9},
                                       {"Green Tea 100 bags", "grocery", 8.5},
                                       {"Dark Chocolate", "grocery", 3.2},
                                       {"Notebook A5", "stationery", 6.0},
                                       {"Fountain Pen", "stationery", 35.0},
                                       {"Sticky Notes", "stationery", 2.5}};
inline constexpr const char* departments[] = {"Engineering", "Sales", "Marketing", "Finance",
                                              "Support"};
inline constexpr const char* locations[] = {"Berlin", "Paris", "Madrid", "Berlin", "Lisbon"};
struct airport {
  const char* code;
  const char* city;
  const char* country;
};
inline constexpr airport airports[] = {
    {"BER", "Berlin", "Germany"},        {"CDG", "Paris", "France"},
    {"MAD", "Madrid", "Spain"},          {"FCO", "Rome", "Italy"},
    {"LHR", "London", "United Kingdom"}, {"AMS", "Amsterdam", "Netherlands"}};
inline constexpr const char* carriers[] = {"Skylark", "Aerolux", "Blue Heron", "Northwind"};
inline constexpr const char* months[] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
}  // namespace seed_data

namespace detail {
inline void exec_or_throw(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("sqlite: " + msg + " in: " + sql.substr(0, 80));
  }
}
inline std::string quote(std::string_view s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += '\'';
    q += c;
  }
  return q + "'";
}
inline std::string date(int y, int m, int d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

inline void fill_shop(sqlite3* db, std::mt19937_64& rng) {
  using namespace seed_data;
  std::string sql =
      "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, email TEXT, country TEXT, "
      "signup_date TEXT);"
      "CREATE TABLE products(id INTEGER PRIMARY KEY, name TEXT, category TEXT, price REAL);"
      "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER, product_id INTEGER, "
      "quantity INTEGER, order_date TEXT, status TEXT);";
  for (int i = 1; i <= 48; ++i) {
    const std::string first = first_names[rng() % std::size(first_names)];
    const std::string last = last_names[rng() % std::size(last_names)];
    std::string email = first + "." + last + std::to_string(i) + "@example.com";
    for (auto& c : email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    sql += "INSERT INTO customers VALUES(" + std::to_string(i) + "," + quote(first + " " + last) +
           "," + quote(email) + "," + quote(countries[rng() % std::size(countries)]) + "," +
           quote(date(2023, 1 + static_cast<int>(rng() % 12), 1 + static_cast<int>(rng() % 28))) +
           ");";
  }
  int pid = 1;
  for (const auto& p : products)
    sql += "INSERT INTO products VALUES(" + std::to_string(pid++) + "," + quote(p.name) + "," +
           quote(p.category) + "," + std::to_string(p.price) + ");";
  static constexpr const char* statuses[] = {"shipped", "shipped", "shipped", "pending",
                                             "cancelled"};
  for (int i = 1; i <= 400; ++i)
    sql += "INSERT INTO orders VALUES(" + std::to_string(i) + "," + std::to_string(1 + rng() % 48) +
           "," + std::to_string(1 + rng() % std::size(products)) + "," +
           std::to_string(1 + rng() % 4) + "," +
           quote(date(2024, 1 + static_cast<int>(rng() % 12), 1 + static_cast<int>(rng() % 28))) +
           "," + quote(statuses[rng() % std::size(statuses)]) + ");";
  exec_or_throw(db, "BEGIN;" + sql + "COMMIT;");
}

inline void fill_hr(sqlite3* db, std::mt19937_64& rng) {
  using namespace seed_data;
  std::string sql =
      "CREATE TABLE departments(id INTEGER PRIMARY KEY, name TEXT, location TEXT);"
      "CREATE TABLE employees(id INTEGER PRIMARY KEY, name TEXT, department_id INTEGER, title "
      "TEXT, "
      "salary INTEGER, hire_date TEXT);";
  for (std::size_t i = 0; i < std::size(departments); ++i)
    sql += "INSERT INTO departments VALUES(" + std::to_string(i + 1) + "," + quote(departments[i]) +
           "," + quote(locations[i]) + ");";
  static constexpr const char* titles[] = {"Associate", "Specialist", "Senior", "Lead", "Manager"};
  static constexpr int base[] = {72000, 58000, 61000, 69000, 47000};
  for (int i = 1; i <= 60; ++i) {
    const std::size_t d = rng() % std::size(departments);
    const std::size_t t = rng() % std::size(titles);
    const int salary = base[d] + static_cast<int>(t) * 9000 + static_cast<int>(rng() % 8000);
    sql += "INSERT INTO employees VALUES(" + std::to_string(i) + "," +
           quote(std::string(first_names[rng() % std::size(first_names)]) + " " +
                 last_names[rng() % std::size(last_names)]) +
           "," + std::to_string(d + 1) + "," + quote(titles[t]) + "," + std::to_string(salary) +
           "," +
           quote(date(2015 + static_cast<int>(rng() % 10), 1 + static_cast<int>(rng() % 12),
                      1 + static_cast<int>(rng() % 28))) +
           ");";
  }
  exec_or_throw(db, "BEGIN;" + sql + "COMMIT;");
}

inline void fill_flights(sqlite3* db, std::mt19937_64& rng) {
  using namespace seed_data;
  std::string sql =
      "CREATE TABLE airports(code TEXT PRIMARY KEY, city TEXT, country TEXT);"
      "CREATE TABLE flights(id INTEGER PRIMARY KEY, carrier TEXT, origin TEXT, destination TEXT, "
      "departure TEXT, duration_min INTEGER, price REAL, status TEXT);";
  for (const auto& a : airports)
    sql += "INSERT INTO airports VALUES(" + quote(a.code) + "," + quote(a.city) + "," +
           quote(a.country) + ");";
  static constexpr const char* statuses[] = {"on_time", "on_time", "on_time", "delayed",
                                             "cancelled"};
  for (int i = 1; i <= 300; ++i) {
    const std::size_t o = rng() % std::size(airports);
    std::size_t d = rng() % (std::size(airports) - 1);
    if (d >= o) ++d;
    char dep[32];
    std::snprintf(dep, sizeof dep, "2024-06-%02d %02d:%02d", 1 + static_cast<int>(rng() % 30),
                  6 + static_cast<int>(rng() % 16), 5 * static_cast<int>(rng() % 12));
    sql += "INSERT INTO flights VALUES(" + std::to_string(i) + "," +
           quote(carriers[rng() % std::size(carriers)]) + "," + quote(airports[o].code) + "," +
           quote(airports[d].code) + "," + quote(dep) + "," + std::to_string(70 + rng() % 120) +
           "," + std::to_string(49 + static_cast<int>(rng() % 250)) + ".0," +
           quote(statuses[rng() % std::size(statuses)]) + ");";
  }
  exec_or_throw(db, "BEGIN;" + sql + "COMMIT;");
}
}  // namespace detail

/// Creates and fills the databases in `dir` when they are missing (always the same contents).
/// Returns true when it created any.
inline bool ensure_databases(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  bool created = false;
  for (const auto& src : data_sources()) {
    const auto path = dir / (src.id + ".db");
    if (std::filesystem::exists(path)) continue;
    const auto tmp = dir / (src.id + ".db.tmp." + std::to_string(::getpid()));
    std::filesystem::remove(tmp);
    sqlite3* db = nullptr;
    if (sqlite3_open(tmp.c_str(), &db) != SQLITE_OK) {
      std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close(db);
      throw std::runtime_error("cannot create " + tmp.string() + ": " + msg);
    }
    std::mt19937_64 rng(20240601);  // fixed: the data never depends on the run's seed
    try {
      if (src.id == "shop") detail::fill_shop(db, rng);
      if (src.id == "hr") detail::fill_hr(db, rng);
      if (src.id == "flights") detail::fill_flights(db, rng);
    } catch (...) {
      sqlite3_close(db);
      throw;
    }
    sqlite3_close(db);
    std::filesystem::rename(tmp, path);  // atomic: a concurrent first run sees all or nothing
    created = true;
  }
  return created;
}

/// The symbolic name of an SQLite primary result code (error.type of a failed query).
inline const char* sqlite_code_name(int rc) {
  switch (rc & 0xff) {
    case SQLITE_ERROR: return "SQLITE_ERROR";
    case SQLITE_INTERNAL: return "SQLITE_INTERNAL";
    case SQLITE_PERM: return "SQLITE_PERM";
    case SQLITE_ABORT: return "SQLITE_ABORT";
    case SQLITE_BUSY: return "SQLITE_BUSY";
    case SQLITE_LOCKED: return "SQLITE_LOCKED";
    case SQLITE_NOMEM: return "SQLITE_NOMEM";
    case SQLITE_READONLY: return "SQLITE_READONLY";
    case SQLITE_INTERRUPT: return "SQLITE_INTERRUPT";
    case SQLITE_IOERR: return "SQLITE_IOERR";
    case SQLITE_CORRUPT: return "SQLITE_CORRUPT";
    case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN";
    case SQLITE_CONSTRAINT: return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH: return "SQLITE_MISMATCH";
    case SQLITE_MISUSE: return "SQLITE_MISUSE";
    case SQLITE_RANGE: return "SQLITE_RANGE";
    case SQLITE_NOTADB: return "SQLITE_NOTADB";
    case SQLITE_NOTFOUND: return "SQLITE_NOTFOUND";
    case SQLITE_FULL: return "SQLITE_FULL";
    case SQLITE_PROTOCOL: return "SQLITE_PROTOCOL";
    case SQLITE_SCHEMA: return "SQLITE_SCHEMA";
    case SQLITE_TOOBIG: return "SQLITE_TOOBIG";
    case SQLITE_AUTH: return "SQLITE_AUTH";
    case SQLITE_FORMAT: return "SQLITE_FORMAT";
    default: return "_OTHER";
  }
}

/// The outcome of one query.
struct query_result {
  bool ok = false;
  std::vector<std::string> columns;
  nlohmann::json rows = nlohmann::json::array();  // array of arrays
  std::string error;                              // the database's message
  std::string error_type;                         // SQLITE_ERROR, ...
  int code = SQLITE_OK;
};

/// Faults the database layer injects (rates in [0,1], decided by the caller's RNG).
struct db_faults {
  bool slow = false;       // sleep `slow_ms` inside the query
  bool fail_busy = false;  // answer SQLITE_BUSY without running the query
  std::chrono::milliseconds slow_ms{300};
};

/// Read-only connections to every data source, for one thread (SQLite connections are not
/// shared between the agent's worker threads).
class connections {
 public:
  explicit connections(const std::filesystem::path& dir, std::size_t max_rows = 50)
      : max_rows_(max_rows) {
    for (const auto& src : data_sources()) {
      sqlite3* db = nullptr;
      const auto path = dir / (src.id + ".db");
      if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        close_all();
        throw std::runtime_error("cannot open " + path.string() + ": " + msg);
      }
      dbs_[src.id] = db;
      // Load the schema now: SQLite reports a syntax error in the very first statement of a
      // connection as SQLITE_SCHEMA (17) instead of SQLITE_ERROR while its schema is unread.
      sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr);
    }
  }
  ~connections() { close_all(); }
  connections(const connections&) = delete;
  connections& operator=(const connections&) = delete;

  /// Runs `sql` on `source` inside a database client span (`SELECT orders`, db.system.name
  /// sqlite, db.namespace = source, sanitized db.query.text, row count; ERROR with error.type,
  /// db.response.status_code and the database's message when it fails).
  query_result run(const std::string& source, const std::string& sql,
                   const db_faults& faults = {}) {
    namespace db = agentrace::semconv::db;
    agentrace::genai::db_span span(
        {.system = db::system_name_values::sqlite, .namespace_ = source});
    span.query(sql);
    query_result r = execute(source, sql, faults);
    if (r.ok)
      span.returned_rows(static_cast<std::int64_t>(r.rows.size()));
    else
      span.fail(r.error_type, r.error, std::to_string(r.code));
    return r;
  }

  /// Runs `sql` without tracing.
  query_result execute(const std::string& source, const std::string& sql,
                       const db_faults& faults = {}) {
    query_result r;
    auto it = dbs_.find(source);
    if (it == dbs_.end()) {
      r.error = "unknown data source '" + source + "'";
      r.error_type = "_OTHER";
      r.code = SQLITE_ERROR;
      return r;
    }
    if (faults.slow) std::this_thread::sleep_for(faults.slow_ms);
    if (faults.fail_busy) {
      r.code = SQLITE_BUSY;
      r.error_type = sqlite_code_name(SQLITE_BUSY);
      r.error = "database is locked";
      return r;
    }
    sqlite3* db = it->second;
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr);
    if (rc != SQLITE_OK || !st) {
      if (rc == SQLITE_OK) rc = SQLITE_ERROR;  // empty statement
      r.code = sqlite3_extended_errcode(db) ? sqlite3_extended_errcode(db) : rc;
      r.error_type = sqlite_code_name(rc);
      r.error = st ? sqlite3_errmsg(db) : (sql.empty() ? "empty statement" : sqlite3_errmsg(db));
      sqlite3_finalize(st);
      return r;
    }
    const int ncol = sqlite3_column_count(st);
    for (int c = 0; c < ncol; ++c) r.columns.emplace_back(sqlite3_column_name(st, c));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (r.rows.size() >= max_rows_) continue;
      nlohmann::json row = nlohmann::json::array();
      for (int c = 0; c < ncol; ++c) {
        switch (sqlite3_column_type(st, c)) {
          case SQLITE_INTEGER: row.push_back(sqlite3_column_int64(st, c)); break;
          case SQLITE_FLOAT: row.push_back(sqlite3_column_double(st, c)); break;
          case SQLITE_NULL: row.push_back(nullptr); break;
          default:
            row.push_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, c)),
                                      static_cast<std::size_t>(sqlite3_column_bytes(st, c))));
        }
      }
      r.rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) {
      r.code = sqlite3_extended_errcode(db);
      r.error_type = sqlite_code_name(rc);
      r.error = sqlite3_errmsg(db);
      r.rows = nlohmann::json::array();
    } else {
      r.ok = true;
    }
    sqlite3_finalize(st);
    return r;
  }

 private:
  void close_all() {
    for (auto& [k, db] : dbs_) sqlite3_close(db);
    dbs_.clear();
  }
  std::map<std::string, sqlite3*> dbs_;
  std::size_t max_rows_;
};

}  // namespace sql_agent
