// daxvm-bench: microbenchmarks of the DaxVM mapping interfaces.
// Subcommands read, append, overwrite, db; see bench/README.md.
#include "bench.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace bench {

common_opts parse_common(args& a) {
  common_opts c;
  c.dir = a.get("dir", "");
  c.out = a.get("out", "");
  if (c.dir.empty() || c.out.empty())
    throw std::invalid_argument("--dir DIR and --out RAWDIR are required");
  c.trials = static_cast<int>(a.get_u64("trials", 3));
  c.warmup = static_cast<int>(a.get_u64("warmup", 1));
  c.seed = a.get_u64("seed", 1);
  std::string k = a.get("knobs", "");
  c.knobs = split(k, ',');
  c.knobs_label = c.knobs.empty() ? "default" : k;
  c.fs_state = a.get("fs-state", "fresh");
  return c;
}

runner::runner(const common_opts& c, const std::string& benchmark)
    : c_(c), knobs_((std::filesystem::create_directories(c.dir), c.knobs), c.dir),
      rep_(c.out, c.dir, benchmark) {
  if (!knobs_.ok()) rep_.progress("knobs not applied, runs are recorded unsupported: " + knobs_.reason());
}

void runner::run(const std::string& variant, json params, const std::string& key,
                 const std::optional<std::string>& unsupported,
                 const std::function<trial_result()>& fn) {
  params.set("knobs", c_.knobs_label);
  params.set("fs_state", c_.fs_state);
  std::string fkey = key + (c_.fs_state == "fresh" ? "" : "-" + c_.fs_state);
  if (!c_.knobs.empty()) {
    for (char ch : c_.knobs_label) fkey += (ch == '=' || ch == ',') ? '_' : ch;
  }
  std::optional<std::string> why = unsupported;
  if (!why && !knobs_.ok()) why = knobs_.reason();
  if (why) {
    rep_.progress(variant + " " + key + ": unsupported: " + *why);
    for (int t = 0; t < c_.trials; ++t) {
      trial_result r;
      r.status = "unsupported";
      r.reason = *why;
      rep_.write(variant, params, fkey, t, r);
    }
    return;
  }
  try {
    for (int w = 0; w < c_.warmup; ++w) (void)fn();
  } catch (const std::exception& e) {
    rep_.progress(variant + " " + key + ": warmup failed: " + e.what());
  }
  for (int t = 0; t < c_.trials; ++t) {
    trial_result r;
    try {
      r = fn();
    } catch (const std::exception& e) {
      r = trial_result{};
      r.status = "error";
      r.reason = e.what();
      ++errors_;
    }
    rep_.write(variant, params, fkey, t, r);
    char line[256];
    if (r.status == "ok")
      // DAX counts a fault that allocates a block as major.
      std::snprintf(line, sizeof line, "%s %s trial %d: %.6f s, %llu ops, %ld minor + %ld major faults",
                    variant.c_str(), key.c_str(), t, r.d.seconds,
                    static_cast<unsigned long long>(r.ops), r.d.minflt, r.d.majflt);
    else
      std::snprintf(line, sizeof line, "%s %s trial %d: %s: %s", variant.c_str(), key.c_str(),
                    t, r.status.c_str(), r.reason.c_str());
    rep_.progress(line);
  }
}

daxvm::map_options to_options(const map_variant& v) {
  // Never map_flags::fallback: never a silent plain mmap.
  using F = daxvm::map_flags;
  daxvm::map_options o;
  if (v.daxvm) o.flags |= F::daxvm;
  if (v.populate) o.flags |= F::populate;
  if (v.batching) o.flags |= F::batching;
  if (v.no_msync) o.flags |= F::no_msync;
  return o;
}

std::optional<std::string> check_mappable(const std::filesystem::path& file,
                                          const map_variant& v, bool writable) {
  auto check = [&](const auto& m) -> std::optional<std::string> {
    if (m) {
      if (m->fallback() != daxvm::fallback_reason::none)
        return std::string("fallback: ") + daxvm::to_string(m->fallback());
      return std::nullopt;
    }
    if (is_unsupported(m.error())) return m.error().message();
    throw std::system_error(m.error(), "map " + file.string());
  };
  const auto o = to_options(v);
  return writable ? check(daxvm::writable_mapping::map(file, o)) : check(daxvm::mapping::map(file, o));
}

void copy_nt(void* dst, const void* src, std::size_t len) {
#if defined(__x86_64__)
  auto* d = static_cast<char*>(dst);
  auto* s = static_cast<const char*>(src);
  std::size_t i = 0;
  if ((reinterpret_cast<std::uintptr_t>(d) & 15) == 0) {
    for (; i + 64 <= len; i += 64) {
      __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
      __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + 16));
      __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + 32));
      __m128i e = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + 48));
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + i), a);
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + i + 16), b);
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + i + 32), c);
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + i + 48), e);
    }
  }
  if (i < len) std::memcpy(d + i, s + i, len - i);
  _mm_sfence();
#else
  std::memcpy(dst, src, len);
#endif
}

}  // namespace bench

static void usage() {
  std::fputs(
      "usage: daxvm-bench SUBCOMMAND --dir DIR --out RAWDIR [options]\n"
      "subcommands: read, append, overwrite, db (see bench/README.md)\n"
      "common: --trials N (3) --warmup N (1) --seed N (1) --knobs name=v,...\n"
      "        --fs-state fresh|aged (label for the file system of --dir)\n"
      "read:      --sizes 4K,1M,.. --variants read,mmap,populate,daxvm,daxvm-batch\n"
      "           --orders seq,rand --layouts fresh,frag --budget BYTES --max-ops N\n"
      "append:    --total BYTES --sizes 4K,..,2M --variants write,mmap,populate,daxvm,nt,daxvm-nt\n"
      "           --sync end|each|none\n"
      "overwrite: --size BYTES --writes N --variants write,mmap,daxvm,daxvm-nosync --layout fresh|frag\n"
      "db:        --records N --record-size B --mix read,update --threads 1,2 --ops N\n"
      "           --variants pread,mmap,daxvm\n",
      stderr);
}

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  std::string sub = argv[1];
  try {
    bench::args a(argc, argv, 2);
    if (sub == "read") return bench::run_read(a);
    if (sub == "append") return bench::run_append(a);
    if (sub == "overwrite") return bench::run_overwrite(a);
    if (sub == "db") return bench::run_db(a);
    usage();
    return 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "daxvm-bench " << sub << ": " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "daxvm-bench " << sub << ": " << e.what() << '\n';
    return 1;
  }
}
