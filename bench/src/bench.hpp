// bench.hpp - the subcommands of daxvm-bench and what they share.
#pragma once

#include "common.hpp"

#include <functional>
#include <string>

namespace bench {

// Options every subcommand takes.
struct common_opts {
  std::filesystem::path dir;   // where the test files live (the DAX mount)
  std::filesystem::path out;   // raw JSON directory
  int trials = 3;
  int warmup = 1;              // untimed runs before the trials
  std::uint64_t seed = 1;
  std::vector<std::string> knobs;  // name=value, set for the run, restored after
  std::string knobs_label;         // "msync=0,zeroout_blocks=0" or "default"
  std::string fs_state;            // --fs-state: fresh | aged (a label of --dir's file system)
};
common_opts parse_common(args& a);

// How a mapping variant maps: the userlib options it uses.
struct map_variant {
  bool daxvm = false;
  bool populate = false;
  bool batching = false;
  bool no_msync = false;
};

// Runs warmup + trials of one configuration and writes one JSON per trial.
// fn returns the measured result; a std::exception becomes status "error"
// (and the process exits non-zero at the end). If `unsupported` is set, no
// run happens and every trial is recorded as unsupported with that reason.
class runner {
 public:
  runner(const common_opts& c, const std::string& benchmark);
  void run(const std::string& variant, json params, const std::string& key,
           const std::optional<std::string>& unsupported,
           const std::function<trial_result()>& fn);
  int exit_code() const { return errors_ ? 1 : 0; }
  reporter& rep() { return rep_; }
  const common_opts& opts() const { return c_; }

 private:
  common_opts c_;
  knob_guard knobs_;  // before rep_: the environment records the knobs as set
  reporter rep_;
  int errors_ = 0;
};

// nullopt if this kind of mapping can be made on the file; otherwise why not
// (kernel without DaxVM, file not on DAX, ...). Never substitutes a mapping.
std::optional<std::string> check_mappable(const std::filesystem::path& file,
                                          const map_variant& v, bool writable);
// Read-only or writable: the caller picks mapping or writable_mapping.
daxvm::map_options to_options(const map_variant& v);

// Non-temporal copy (movnt on x86-64, plain copy elsewhere); ends with sfence.
void copy_nt(void* dst, const void* src, std::size_t len);

int run_read(args& a);
int run_append(args& a);
int run_overwrite(args& a);
int run_db(args& a);

}  // namespace bench
