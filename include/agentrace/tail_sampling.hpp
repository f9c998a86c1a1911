// SPDX-License-Identifier: MIT
// Tail sampling on the collector thread: every local trace is held until its local root (a span
// whose parent is absent or in another process) has ended, plus a wait for late children; then
// one decision keeps or drops the whole trace. The keep rule is a query in the eval query
// language (agentrace/eval/query.hpp), the same text `agentrace-eval select` runs offline:
//
//   agentrace::start({.tail_sampling = {.rule = "errors or db.query > p95", .ratio = 0.01}});
//   AGENTRACE_TAIL_SAMPLING='errors or duration > 250ms' AGENTRACE_TAIL_SAMPLING_RATIO=0.01
//
// Traces the rule does not keep are kept at a ratio (deterministic on the trace id, the head
// sampler's algorithm) and / or a rate limit per second. A kept trace's local root says why
// (agentrace.sampling.reason); dropped traces are counted in stats(). Percentile predicates
// compare with running quantiles per span name (a window of recent durations, bounded memory).
// Include this header in the file that calls start(): it registers itself with the collector.
// docs/sampling.md describes the rules, bounds and warm-up.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agentrace/config.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/span_filter.hpp"
#include "agentrace/detail/trace_assembler.hpp"
#include "agentrace/eval/query.hpp"
#include "agentrace/exporter.hpp"
#include "agentrace/sampler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// Defaults of tail_sampling_config (docs/sampling.md, docs/configuration.md).
namespace tail_sampling_defaults {
inline constexpr std::chrono::milliseconds wait{100};
inline constexpr std::chrono::milliseconds max_hold{30000};
inline constexpr std::size_t max_traces = 4096;
inline constexpr std::size_t max_spans = 65536;
inline constexpr std::size_t max_bytes = std::size_t{16} << 20;
inline constexpr std::size_t percentile_window = 1024;
inline constexpr std::size_t percentile_warmup = 100;
inline constexpr std::size_t max_names = 1024;  // span names with running quantiles
}  // namespace tail_sampling_defaults

/// The attribute a kept trace's local root carries: the predicates that matched, each with what
/// matched it ("errors: span ..."), separated by "; "; or "ratio", or "rate_limit".
inline constexpr std::string_view sampling_reason_key = "agentrace.sampling.reason";

/// Running percentiles of span durations per name, for `> pNN` predicates: the nearest-rank
/// percentile of the last `window` durations of each name (exact over that window), recomputed
/// when a sixteenth of the window is new. A name has no percentile (its predicates do not
/// match) until `warmup` spans of it were seen. At most `max_names` names are tracked; spans of
/// further names are counted (untracked()). Memory: 8 bytes x window per name.
class running_quantiles {
 public:
  running_quantiles(std::size_t window, std::size_t warmup, std::vector<double> percentiles,
                    std::size_t max_names = tail_sampling_defaults::max_names)
      : window_(std::max<std::size_t>(window, 1)),
        warmup_(std::max<std::size_t>(warmup, 1)),
        max_names_(max_names),
        ps_(std::move(percentiles)) {}

  void add(std::string_view name, std::uint64_t duration_ns) {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) {
      if (by_name_.size() >= max_names_) {
        ++untracked_;
        return;
      }
      it = by_name_.emplace(std::string(name), series{}).first;
      it->second.ring.reserve(std::min<std::size_t>(window_, 64));
      it->second.cut.assign(ps_.size(), std::nullopt);
    }
    series& s = it->second;
    if (s.ring.size() < window_)
      s.ring.push_back(duration_ns);
    else
      s.ring[s.next] = duration_ns;
    s.next = (s.next + 1) % window_;
    ++s.seen;
    ++s.since;
  }

  /// Recomputes the percentiles that are due (the collector calls it before deciding).
  void refresh() {
    for (auto& [name, s] : by_name_) {
      if (s.seen < warmup_ || s.since == 0) continue;
      if (s.computed && s.since < std::max<std::size_t>(1, s.ring.size() / 16)) continue;
      scratch_.assign(s.ring.begin(), s.ring.end());
      for (std::size_t i = 0; i < ps_.size(); ++i) {
        const std::size_t k = eval::nearest_rank_index(scratch_.size(), ps_[i]);
        std::nth_element(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(k),
                         scratch_.end());
        s.cut[i] = scratch_[k];
      }
      s.computed = true;
      s.since = 0;
    }
  }

  /// The p-th percentile of `name` as of the last refresh(); nullopt during its warm-up.
  std::optional<std::uint64_t> percentile(std::string_view name, double p) const {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) return std::nullopt;
    for (std::size_t i = 0; i < ps_.size(); ++i)
      if (ps_[i] == p) return it->second.cut[i];
    return std::nullopt;
  }

  std::size_t names() const noexcept { return by_name_.size(); }
  std::uint64_t untracked() const noexcept { return untracked_; }

 private:
  struct series {
    std::vector<std::uint64_t> ring;
    std::size_t next = 0;
    std::uint64_t seen = 0;
    std::size_t since = 0;  // added since the last computation
    bool computed = false;
    std::vector<std::optional<std::uint64_t>> cut;  // per percentile
  };
  struct name_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::size_t window_, warmup_, max_names_;
  std::vector<double> ps_;
  std::unordered_map<std::string, series, name_hash, std::equal_to<>> by_name_;
  std::vector<std::uint64_t> scratch_;
  std::uint64_t untracked_ = 0;
};

namespace detail {

/// The tail sampler the collector calls (through span_filter). Collector thread only, except
/// counts().
class tail_sampler final : public span_filter {
 public:
  struct settings {
    std::optional<eval::query> rule;
    double ratio = 0;
    double rate_limit = 0;  // traces of the rest per second; 0: no limit
    std::chrono::milliseconds wait = tail_sampling_defaults::wait;
    std::chrono::milliseconds max_hold = tail_sampling_defaults::max_hold;
    std::size_t max_traces = tail_sampling_defaults::max_traces;
    std::size_t max_spans = tail_sampling_defaults::max_spans;
    std::size_t max_bytes = tail_sampling_defaults::max_bytes;
    std::size_t percentile_window = tail_sampling_defaults::percentile_window;
    std::size_t percentile_warmup = tail_sampling_defaults::percentile_warmup;
  };

  tail_sampler(settings s, const span_limits& limits, const resource& res)
      : s_(std::move(s)),
        limits_(limits),
        assembler_(assembly_options{s_.wait, s_.max_hold, s_.max_traces, s_.max_spans}),
        threshold_(ratio_threshold(s_.ratio)) {
    for (const auto& [k, v] : res.attributes)
      resource_.attributes.emplace_back(k, attr_value{std::in_place_type<std::string>, v});
    if (s_.rule) {
      std::vector<double> ps;
      for (const auto& a : s_.rule->atoms())
        if (a.value.k == eval::literal::kind::percentile &&
            std::find(ps.begin(), ps.end(), a.value.percentile) == ps.end())
          ps.push_back(a.value.percentile);
      if (!ps.empty())
        quantiles_.emplace(s_.percentile_window, s_.percentile_warmup, std::move(ps));
      atom_texts_ = eval::detail::atom_texts(*s_.rule);
      for (const auto& a : s_.rule->atoms()) {
        if (a.k == eval::atom::kind::attribute) keys_.push_back(a.subject);
        if (a.k == eval::atom::kind::conversation)
          for (const auto& k : eval::conversation_attribute_keys()) keys_.push_back(k);
      }
    }
    tokens_ = std::max(1.0, s_.rate_limit);
    decided_.resize(std::bit_ceil(std::max<std::size_t>(s_.max_traces, 1)));
  }

  void hold(std::vector<span_record>& pending, std::size_t n, const clock_converter& clock,
            time_point now) override {
    for (std::size_t i = 0; i < n; ++i) {
      span_record& r = pending[i];
      if (quantiles_)
        quantiles_->add(r.name(), static_cast<std::uint64_t>(std::max<std::int64_t>(
                                      0, clock.duration_ns(r.start_ticks, r.end_ticks))));
      // A late span of a decided trace? (Spans of one trace tend to arrive together: the last
      // trace looked up and found undecided is not looked up again until a decision.)
      const trace_key k = key(r.trace_id);
      const decision* d = k == undecided_ ? nullptr : find_decision(k);
      if (!d) undecided_ = k;
      if (d) {
        if (d->kept) {
          if (is_local_root(r)) add_reason(r, d->reason);
          if (ready_.empty()) ready_.emplace_back();
          ready_.back().push_back(std::move(r));
        } else {
          count(spans_dropped_, 1);
          tail_sampled_out_total.fetch_add(1, std::memory_order_release);
          r.reset();  // what the dropped span owns is freed now
        }
        continue;
      }
      held_bytes_ += record_bytes(r);
      for (auto& t : assembler_.add(std::move(r), now)) decide(std::move(t), clock, now);
      while (held_bytes_ > s_.max_bytes)  // over the byte bound: the oldest trace is decided
        if (auto t = assembler_.take_oldest())
          decide(std::move(*t), clock, now);
        else
          break;
    }
    publish_held();
  }

  std::size_t take_ready(std::vector<span_record>& pending, const clock_converter& clock,
                         time_point now, take_mode mode) override {
    if (ready_.empty()) {
      if (quantiles_) quantiles_->refresh();
      for (auto& t : mode == take_mode::all ? assembler_.take_all()
                                            : assembler_.take_ready(now, mode == take_mode::ended))
        decide(std::move(t), clock, now);
      publish_held();
    }
    std::size_t k = 0;
    while (k < pending.size() && !ready_.empty()) {
      std::vector<span_record>& v = ready_.front();
      while (k < pending.size() && ready_head_ < v.size())
        pending[k++] = std::move(v[ready_head_++]);
      if (ready_head_ < v.size()) break;
      assembler_.recycle(std::move(v));
      ready_.pop_front();
      ready_head_ = 0;
    }
    return k;
  }

  bool holding() const noexcept override {
    return assembler_.pending_traces() > 0 || !ready_.empty();
  }

  time_point next_due() const noexcept override {
    return ready_.empty() ? assembler_.next_due() : time_point::min();
  }

  tail_sampling_counts counts() const noexcept override {
    tail_sampling_counts c;
    c.traces_kept = traces_kept_.load(std::memory_order_relaxed);
    c.traces_dropped = traces_dropped_.load(std::memory_order_relaxed);
    c.spans_dropped = spans_dropped_.load(std::memory_order_relaxed);
    c.traces_decided_early = decided_early_.load(std::memory_order_relaxed);
    c.held_traces = held_traces_.load(std::memory_order_relaxed);
    c.held_spans = held_spans_.load(std::memory_order_relaxed);
    c.peak_held_spans = peak_held_spans_.load(std::memory_order_relaxed);
    c.held_bytes = held_bytes_out_.load(std::memory_order_relaxed);
    return c;
  }

  const settings& get_settings() const noexcept { return s_; }

 private:
  using trace_key = std::pair<std::uint64_t, std::uint64_t>;
  struct key_hash {
    std::size_t operator()(const trace_key& k) const noexcept {
      return static_cast<std::size_t>(eval::detail::trace_key(trace_id{k.first, k.second}));
    }
  };
  struct decision {
    trace_key k{};
    bool used = false;
    bool kept = false;
    std::string reason;
  };
  static trace_key key(const trace_id& t) noexcept { return {t.hi, t.lo}; }
  static bool is_local_root(const span_record& r) noexcept {
    return r.parent_span_id == 0 || r.parent_remote;
  }
  static void count(std::atomic<std::uint64_t>& c, std::uint64_t n) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);  // one writer
  }
  // What a held record takes: the record and what it owns (owned strings, the extension's
  // attributes, events, links and strings), by capacity.
  static std::size_t record_bytes(const span_record& r) noexcept {
    std::size_t n = sizeof(span_record);
    for (std::size_t i = 0; i < r.n_attrs && i < detail::inline_attrs; ++i)
      if (r.attrs[i].type() == slot_type::owned_str)
        n += sizeof(std::string) + r.attrs[i].owned()->capacity();
    const span_ext* x = r.ext();
    if (!x) return n;
    auto attrs = [](const std::vector<attribute>& v) {
      std::size_t b = v.capacity() * sizeof(attribute);
      for (const auto& a : v) b += eval::detail::value_bytes(a.value);
      return b;
    };
    n += sizeof(span_ext) + attrs(x->attributes) + x->status_message.capacity() +
         x->name.capacity() + x->trace_state.capacity() +
         x->events.capacity() * sizeof(event_data) + x->links.capacity() * sizeof(link_data);
    for (const auto& e : x->events) n += attrs(e.attributes);
    for (const auto& l : x->links) n += l.trace_state.capacity() + attrs(l.attributes);
    return n;
  }
  static void add_reason(span_record& r, const std::string& reason) {
    r.extension().attributes.push_back(
        attribute{sampling_reason_key, attr_value{std::in_place_type<std::string>, reason}});
  }

  // The rule over the held records, each presented to the query evaluator as the span_data
  // every exporter that keeps spans sees (the same conversion and limits), with only the
  // attributes the rule names: predicates read nothing else of a span. One pass converts each
  // record once and tests the predicates not yet satisfied (none once all are: the rest of the
  // trace cannot change the outcome), remembering the first span that satisfied each; only a
  // trace the rule keeps has its reasons formatted, from those spans (what `agentrace-eval
  // select` explains: the first span of the trace that satisfied each predicate).
  std::optional<std::string> rule_reason(const basic_assembled_trace<span_record>& t,
                                         const clock_converter& clock) {
    if (!s_.rule) return std::nullopt;
    const auto& atoms = s_.rule->atoms();
    const std::uint64_t all =
        atoms.size() >= 64 ? ~std::uint64_t(0) : (std::uint64_t(1) << atoms.size()) - 1;
    const eval::percentile_source stats = quantiles_ ? &*quantiles_ : nullptr;
    std::uint64_t mask = 0;
    first_match_.assign(atoms.size(), 0);
    for (std::size_t j = 0; j < t.spans.size() && mask != all; ++j) {
      present(t.spans[j], clock);
      for (std::size_t i = 0; i < atoms.size(); ++i)
        if (!((mask >> i) & 1u) && eval::atom_matches(atoms[i], view_, &resource_, stats)) {
          mask |= std::uint64_t(1) << i;
          first_match_[i] = j;
        }
    }
    if (!eval::detail::eval_node(s_.rule->root(), mask)) return std::nullopt;
    atom_reasons_.assign(atoms.size(), std::string());
    for (std::size_t i = 0; i < atoms.size(); ++i)
      if ((mask >> i) & 1u) {
        present(t.spans[first_match_[i]], clock);
        eval::atom_matches(atoms[i], view_, &resource_, stats, &atom_reasons_[i]);
      }
    reasons_.clear();
    eval::detail::explain(*s_.rule, s_.rule->root(), mask, atom_texts_, atom_reasons_, reasons_);
    if (reasons_.size() == 1) return std::move(reasons_.front());
    std::string why;
    for (const auto& line : reasons_) {
      if (!why.empty()) why += "; ";
      why += line;
    }
    return why;
  }
  void present(const span_record& r, const clock_converter& clock) {
    auto keep = [this](std::string_view k) {
      return std::find(keys_.begin(), keys_.end(), k) != keys_.end();
    };
    fill_span_data(view_, r, clock, limits_, keep, false);
  }

  // The rest: the ratio (deterministic on the trace id), capped or replaced by the rate limit.
  std::optional<std::string> rest_reason(const trace_id& id, time_point now) {
    const bool by_ratio = s_.ratio > 0;
    if (by_ratio && trace_randomness(id) < threshold_) return std::nullopt;
    if (!by_ratio && s_.rate_limit <= 0) return std::nullopt;
    if (s_.rate_limit > 0) {
      if (last_refill_ != time_point{}) {
        const double secs = std::chrono::duration<double>(now - last_refill_).count();
        tokens_ = std::min(std::max(1.0, s_.rate_limit), tokens_ + secs * s_.rate_limit);
      }
      last_refill_ = now;
      if (tokens_ < 1.0) return std::nullopt;
      tokens_ -= 1.0;
    }
    return std::string(by_ratio ? "ratio" : "rate_limit");
  }

  void decide(basic_assembled_trace<span_record>&& t, const clock_converter& clock,
              time_point now) {
    undecided_ = {};
    for (const span_record& r : t.spans) held_bytes_ -= std::min(held_bytes_, record_bytes(r));
    if (!t.complete) count(decided_early_, 1);
    std::optional<std::string> why = rule_reason(t, clock);
    if (!why) why = rest_reason(t.id, now);
    if (why) {
      for (span_record& r : t.spans)
        if (is_local_root(r)) add_reason(r, *why);
      ready_.push_back(std::move(t.spans));  // exported from there (take_ready)
      count(traces_kept_, 1);
    } else {
      count(traces_dropped_, 1);
      count(spans_dropped_, t.spans.size());
      tail_sampled_out_total.fetch_add(t.spans.size(), std::memory_order_release);
      assembler_.recycle(std::move(t.spans));
    }
    decision& d = decided_[slot(key(t.id))];  // a later decision may take an older one's slot
    d.k = key(t.id);
    d.used = true;
    d.kept = why.has_value();
    d.reason = why ? std::move(*why) : std::string();
  }

  // Late spans follow their trace's decision while it is remembered: a direct-mapped table of
  // max_traces slots (rounded up to a power of two), no allocation per decision.
  std::size_t slot(const trace_key& k) const noexcept {
    return key_hash{}(k) & (decided_.size() - 1);
  }
  const decision* find_decision(const trace_key& k) const noexcept {
    const decision& d = decided_[slot(k)];
    return d.used && d.k == k ? &d : nullptr;
  }

  void publish_held() noexcept {
    const std::uint64_t spans = assembler_.pending_spans();
    held_traces_.store(assembler_.pending_traces(), std::memory_order_relaxed);
    held_spans_.store(spans, std::memory_order_relaxed);
    held_bytes_out_.store(held_bytes_, std::memory_order_relaxed);
    if (spans > peak_held_spans_.load(std::memory_order_relaxed))
      peak_held_spans_.store(spans, std::memory_order_relaxed);
  }

  settings s_;
  span_limits limits_;
  eval::resource_info resource_;
  basic_trace_assembler<span_record> assembler_;
  std::optional<running_quantiles> quantiles_;
  std::vector<std::string> keys_;         // the span attributes the rule reads
  span_data view_;                        // a held record as the rule sees it (storage reused)
  std::vector<std::size_t> first_match_;  // per predicate: the first span that satisfied it
  std::vector<std::string> atom_texts_;   // of the rule's predicates, by index
  std::vector<std::string> atom_reasons_, reasons_;
  std::uint64_t threshold_;
  double tokens_ = 1;
  time_point last_refill_{};
  std::deque<std::vector<span_record>> ready_;  // records of kept traces, to export
  std::size_t ready_head_ = 0;                  // of ready_.front(), those already taken
  std::vector<decision> decided_;
  trace_key undecided_{};  // the last trace found undecided (since the last decision)
  std::atomic<std::uint64_t> traces_kept_{0}, traces_dropped_{0}, spans_dropped_{0},
      decided_early_{0}, held_traces_{0}, held_spans_{0}, peak_held_spans_{0}, held_bytes_out_{0};
  std::size_t held_bytes_ = 0;  // record_bytes() of the spans held
};

/// Builds the tail sampler for `c`, environment variables filling what `c` leaves unset;
/// nullptr when neither sets a rule, a ratio or a rate limit.
inline std::unique_ptr<span_filter> make_tail_sampler(const tail_sampling_config& c,
                                                      const span_limits& limits,
                                                      const resource& res, bool read_env) {
  tail_sampler::settings s;
  std::string rule = c.rule;
  bool rule_from_env = false;
  if (rule.empty() && read_env)
    if (auto v = env("AGENTRACE_TAIL_SAMPLING")) {
      rule = *v;
      rule_from_env = true;
    }
  auto number = [&](const std::optional<double>& code, const char* var, double hi) {
    if (code) {
      if (!(*code >= 0 && *code <= hi))
        throw std::invalid_argument(
            fmt::format("tail sampling: {} = {} is not in [0, {}]", var, *code, hi));
      return *code;
    }
    return read_env ? env_double(var, 0, hi).value_or(0) : 0.0;
  };
  s.ratio = number(c.ratio, "AGENTRACE_TAIL_SAMPLING_RATIO", 1);
  s.rate_limit = number(c.rate_limit, "AGENTRACE_TAIL_SAMPLING_RATE_LIMIT", 1e9);
  if (rule.empty() && s.ratio <= 0 && s.rate_limit <= 0 && !c.ratio) return nullptr;
  if (!rule.empty()) {
    try {
      s.rule = eval::query::parse(rule);
      if (s.rule->atoms().size() > 64)
        throw eval::query_error(rule, 1, "a query may have at most 64 predicates");
    } catch (const eval::query_error& e) {
      if (!rule_from_env) throw;
      diag("AGENTRACE_TAIL_SAMPLING: {}; tail sampling is off, every trace is exported", e.what());
      return nullptr;
    }
  }
  auto size = [&](std::size_t code, const char* var, std::size_t def) -> std::size_t {
    if (code) return code;
    const auto v = read_env ? env_uint(var, def) : def;
    return v ? static_cast<std::size_t>(v) : def;
  };
  auto ms = [&](std::chrono::milliseconds code, const char* var, std::chrono::milliseconds def) {
    if (code.count() > 0) return code;
    return std::chrono::milliseconds(
        read_env ? env_uint(var, static_cast<std::uint64_t>(def.count())) : def.count());
  };
  namespace d = tail_sampling_defaults;
  s.wait = ms(c.wait, "AGENTRACE_TAIL_SAMPLING_WAIT", d::wait);
  s.max_hold = ms(c.max_hold, "AGENTRACE_TAIL_SAMPLING_MAX_HOLD", d::max_hold);
  s.max_traces = size(c.max_traces, "AGENTRACE_TAIL_SAMPLING_MAX_TRACES", d::max_traces);
  s.max_spans = size(c.max_spans, "AGENTRACE_TAIL_SAMPLING_MAX_SPANS", d::max_spans);
  s.max_bytes = size(c.max_bytes, "AGENTRACE_TAIL_SAMPLING_MAX_BYTES", d::max_bytes);
  s.percentile_window =
      size(c.percentile_window, "AGENTRACE_TAIL_SAMPLING_WINDOW", d::percentile_window);
  s.percentile_warmup =
      size(c.percentile_warmup, "AGENTRACE_TAIL_SAMPLING_WARMUP", d::percentile_warmup);
  return std::make_unique<tail_sampler>(std::move(s), limits, res);
}

// Registers the factory with the collector when this header is included.
inline const bool tail_sampler_registered = [] {
  tail_sampler_factory.store(&make_tail_sampler);
  return true;
}();

}  // namespace detail
}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
