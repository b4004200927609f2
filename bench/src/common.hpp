// common.hpp - shared pieces of the DaxVM microbenchmarks: command line,
// sizes, counters (time, rusage faults, /proc/vmstat TLB flushes), JSON
// output, test-file preparation and FIEMAP extent counts.
#pragma once

#include <daxvm/daxvm.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace bench {

inline constexpr std::size_t kPage = 4096;

// ---- command line -------------------------------------------------------------
// `--key value` / `--key=value` options plus positionals. Every option a
// subcommand reads is marked used; unknown ones are an error (typos must not
// silently run a default configuration for an hour).
class args {
 public:
  args(int argc, char** argv, int first);
  std::string get(const std::string& key, const std::string& def);
  bool has(const std::string& key) const { return kv_.count(key) != 0; }
  std::uint64_t get_size(const std::string& key, std::uint64_t def);
  std::uint64_t get_u64(const std::string& key, std::uint64_t def);
  std::vector<std::string> get_list(const std::string& key, const std::string& def);
  std::vector<std::uint64_t> get_sizes(const std::string& key, const std::string& def);
  // Throws std::invalid_argument naming the first unknown option.
  void check_all_used() const;

 private:
  std::map<std::string, std::string> kv_;
  std::map<std::string, bool> used_;
};

// "4K", "4KiB", "2M", "1G", "4096" -> bytes. Throws std::invalid_argument.
std::uint64_t parse_size(const std::string& s);
std::string size_label(std::uint64_t bytes);  // 4096 -> "4K"
std::vector<std::string> split(const std::string& s, char sep);

// ---- deterministic randomness ------------------------------------------------
// splitmix64: the same sequence on every libstdc++/libc++ (std::shuffle and
// the std distributions are not specified exactly).
class rng {
 public:
  explicit rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next();
  std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t s_;
};
std::vector<std::uint64_t> permutation(std::uint64_t n, std::uint64_t seed);

// ---- counters ------------------------------------------------------------------
struct counters {
  std::chrono::steady_clock::time_point t;
  long minflt = 0, majflt = 0;
  std::map<std::string, std::uint64_t> tlb;  // nr_tlb_* of /proc/vmstat
  std::optional<std::uint64_t> tlb_ipis;     // "TLB" row of /proc/interrupts
};
counters snapshot();
struct delta {
  double seconds = 0;
  long minflt = 0, majflt = 0;
  std::optional<std::map<std::string, std::int64_t>> tlb;  // absent: no counters
  // TLB shootdown IPIs received by all CPUs (system-wide: a quiet guest).
  std::optional<std::int64_t> tlb_ipis;
};
delta diff(const counters& a, const counters& b);

// ---- JSON -----------------------------------------------------------------------
// An ordered JSON object; values are stored already encoded.
class json {
 public:
  json& set(const std::string& k, const std::string& v);
  json& set(const std::string& k, const char* v) { return set(k, std::string(v)); }
  json& set(const std::string& k, double v);
  template <class T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
  json& set(const std::string& k, T v) {
    return set_raw(k, std::to_string(v));
  }
  json& set(const std::string& k, bool v);
  json& set(const std::string& k, const json& v);
  json& set_null(const std::string& k);
  json& set_raw(const std::string& k, const std::string& encoded);
  std::string str() const;
  bool empty() const { return items_.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};
std::string json_string(const std::string& s);

// ---- environment -------------------------------------------------------------------
// Everything about the machine a result needs to be interpreted: kernel,
// commit (DAXVM_KERNEL_COMMIT), host, CPU model, accelerator (DAXVM_ACCEL or
// a guess), file system of the benchmark directory, DaxVM knobs.
json environment(const std::filesystem::path& dir);

// ---- files -----------------------------------------------------------------------
enum class layout { fresh, fragmented };
layout parse_layout(const std::string& s);
const char* to_string(layout l);
// Creates (or reuses, when size and layout tag match) a file of `size`
// bytes: fresh = written sequentially in 1 MiB chunks; fragmented = written
// 4 KiB at a time in a random order (seeded), each page allocated with
// fallocate between two 4 KiB allocations of a filler file that is deleted
// at the end, so every page is its own extent. Data is non-zero. fsyncs.
void prepare_file(const std::filesystem::path& p, std::uint64_t size, layout l,
                  std::uint64_t seed);
// Number of extents (FIEMAP), or nullopt where the file system has no FIEMAP.
std::optional<std::uint64_t> extent_count(const std::filesystem::path& p);
// Throws std::system_error with the call's name.
[[noreturn]] void fail_errno(const std::string& what);

// ---- results ----------------------------------------------------------------------
struct trial_result {
  std::string status = "ok";  // ok | unsupported | error
  std::string reason;         // why unsupported / error
  delta d;
  std::uint64_t ops = 0;      // operations timed
  std::uint64_t bytes = 0;    // payload bytes moved
  double syscalls_per_op = -1;  // as issued by this code (see README); <0 unknown
  json extra;
};

class reporter {
 public:
  reporter(std::filesystem::path out_dir, std::filesystem::path bench_dir,
           std::string benchmark);
  // Writes <out>/<benchmark>-<variant>-<key>-t<trial>.json
  void write(const std::string& variant, const json& params, const std::string& key,
             int trial, const trial_result& r);
  void progress(const std::string& line) const;

 private:
  std::filesystem::path out_;
  std::string benchmark_;
  json env_;
  std::chrono::steady_clock::time_point start_;
};

// The DaxVM flags are never silently replaced by a plain mapping: policy
// fail, and the error text becomes the "unsupported" reason.
bool is_unsupported(std::error_code ec);

// Sets the requested knobs (name=value, e.g. msync=0, zeroout_blocks=0) for
// the device of dir and restores them on destruction. ok() is false (and
// reason() says why) if any could not be set; the run is then recorded as
// unsupported.
class knob_guard {
 public:
  knob_guard(const std::vector<std::string>& settings, const std::filesystem::path& dir);
  ~knob_guard();
  knob_guard(const knob_guard&) = delete;
  knob_guard& operator=(const knob_guard&) = delete;
  bool ok() const { return reason_.empty(); }
  const std::string& reason() const { return reason_; }
  json describe() const;

 private:
  daxvm::control ctl_;
  std::string dev_;
  std::vector<std::pair<daxvm::knob, std::uint64_t>> restore_;
  std::vector<std::pair<std::string, std::string>> asked_;
  std::string reason_;
};

// A sink the optimiser cannot remove.
void consume(std::uint64_t v);

}  // namespace bench
