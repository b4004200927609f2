// Read and set the DaxVM knobs, try the flush-zombies syscall.
//   daxvm-ctl get KNOB [PATH]          print the value
//   daxvm-ctl set KNOB VALUE [PATH]
//   daxvm-ctl flush-zombies
// Per-mount knobs act on the mount holding PATH (default "."); global knobs
// ignore it. Exit 0 ok, 1 error, 2 usage. (Its tests run it on fake trees
// with the library's DAXVM_PROC_ROOT / DAXVM_SYS_ROOT test seam.)
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <daxvm/daxvm.hpp>

namespace {

int usage(const char* prog) {
  std::fprintf(stderr,
               "usage: %s get KNOB [PATH] | set KNOB VALUE [PATH] | flush-zombies\n"
               "KNOB: page_tables_on, kbytes_occupied, zeroout_blocks, prezero,\n"
               "      prezeroed_blocks, tables_in_pmem (per mount of PATH), msync,\n"
               "      zombie_max_pages\n",
               prog);
  return 2;
}

int fail(std::string_view what, std::error_code ec) {
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(what.size()), what.data(),
               ec.message().c_str());
  return 1;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && end == s.data() + s.size();
}

bool per_mount(daxvm::knob k) {
  return k != daxvm::knob::msync && k != daxvm::knob::zombie_max_pages;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view cmd = argc > 1 ? argv[1] : "";
  const daxvm::control ctl;

  if (cmd == "flush-zombies" && argc == 2) {
    // The call only flushes this process's batched unmaps (it has none), so
    // here it shows whether the running kernel offers it.
    if (auto ec = ctl.flush_zombies()) return fail(cmd, ec);
    return 0;
  }
  const int fixed = cmd == "get" ? 3 : cmd == "set" ? 4 : 0;  // argc without PATH
  if (!fixed || argc < fixed || argc > fixed + 1) return usage(argv[0]);
  const auto k = daxvm::knob_from_string(argv[2]);
  if (!k) {
    std::fprintf(stderr, "unknown knob: %s\n", argv[2]);
    return usage(argv[0]);
  }
  std::uint64_t value = 0;
  if (cmd == "set" && !parse_u64(argv[3], value)) {
    std::fprintf(stderr, "invalid value: %s (want an unsigned decimal)\n", argv[3]);
    return 2;
  }
  // Say "no DaxVM" before any mount lookup can fail for a lesser reason.
  if (auto v = ctl.version(); !v) return fail(argv[2], v.error());

  std::string dev;
  std::string what = argv[2];  // names the knob and, per mount, its device
  if (per_mount(*k)) {
    const char* path = argc > fixed ? argv[fixed] : ".";
    auto d = ctl.device_for(path);
    if (!d) return fail(path, d.error());
    dev = *d;
    what += " (" + dev + ")";
  }
  if (cmd == "set") {
    if (auto ec = ctl.set(*k, value, dev)) return fail(what, ec);
    return 0;
  }
  auto v = ctl.get(*k, dev);
  if (!v) return fail(what, v.error());
  std::printf("%llu\n", static_cast<unsigned long long>(*v));
  return 0;
}
