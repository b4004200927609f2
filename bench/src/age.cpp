// daxvm-age: Geriatrix-style file-system aging (the WineFS methodology).
// Creates and deletes files with sizes from a file-size distribution until
// the file system (or a byte budget) is at a target utilisation and the
// bytes written reach `turnover` times its capacity, so free space ends up
// fragmented. Every decision comes from a seeded generator and our own byte
// counters (never from statfs), so a seed replays the same operations; the
// summary carries a digest of them. At the end a probe file is written
// sequentially and its FIEMAP extent count says how fragmented new files are.
#include "common.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

namespace {

using bench::kPage;

// (upper bound of the bucket, share of files) - a typical desktop/server
// file-size mix: most files small, most bytes in large files.
struct bucket {
  std::uint64_t upper;
  double weight;
};
const bucket kDefaultDist[] = {
    {4 << 10, 0.26},  {8 << 10, 0.12},   {16 << 10, 0.12}, {32 << 10, 0.10},
    {64 << 10, 0.10}, {128 << 10, 0.09}, {256 << 10, 0.07}, {1 << 20, 0.07},
    {4 << 20, 0.04},  {16 << 20, 0.02},  {64 << 20, 0.01},
};

struct state {
  std::filesystem::path root;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> live;  // (id, size)
  std::uint64_t own = 0, written = 0, created = 0, deleted = 0, enospc = 0;
  std::uint64_t next_id = 0;
  std::uint64_t digest = 0xcbf29ce484222325ull;
  std::vector<char> pattern = std::vector<char>(256 << 10);

  void mix(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      digest ^= (v >> (8 * i)) & 0xff;
      digest *= 0x100000001b3ull;
    }
  }
  std::filesystem::path path(std::uint64_t id) const {
    char d[16], f[32];
    std::snprintf(d, sizeof d, "d%02llu", static_cast<unsigned long long>(id % 64));
    std::snprintf(f, sizeof f, "f%08llu", static_cast<unsigned long long>(id));
    return root / d / f;
  }
  // false on ENOSPC (the partial file is removed)
  bool create(std::uint64_t size) {
    std::uint64_t id = next_id++;
    auto p = path(id);
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) bench::fail_errno("create " + p.string());
    std::uint64_t done = 0;
    while (done < size) {
      std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(pattern.size(), size - done));
      ssize_t n = ::write(fd, pattern.data(), len);
      if (n < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        ::close(fd);
        if (e == ENOSPC) {
          ::unlink(p.c_str());
          ++enospc;
          return false;
        }
        errno = e;
        bench::fail_errno("write " + p.string());
      }
      done += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    live.emplace_back(id, size);
    own += size;
    written += size;
    ++created;
    mix(1);
    mix(id);
    mix(size);
    return true;
  }
  void remove(std::uint64_t idx) {
    auto [id, size] = live[idx];
    if (::unlink(path(id).c_str()) != 0) bench::fail_errno("unlink");
    live[idx] = live.back();
    live.pop_back();
    own -= size;
    ++deleted;
    mix(2);
    mix(id);
  }
};

std::uint64_t draw_size(bench::rng& g, std::uint64_t cap) {
  double total = 0;
  for (auto& b : kDefaultDist) total += b.weight;
  double x = g.unit() * total;
  std::uint64_t lo = 0, hi = kDefaultDist[0].upper;
  for (auto& b : kDefaultDist) {
    hi = b.upper;
    if (x < b.weight) break;
    x -= b.weight;
    lo = b.upper;
  }
  std::uint64_t s = lo + 1 + g.below(hi - lo);
  s = (s + kPage - 1) / kPage * kPage;
  return std::max<std::uint64_t>(kPage, std::min(s, cap));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    bench::args a(argc, argv, 1);
    if (a.has("help")) {
      std::cerr << "usage: daxvm-age --dir DIR [--util 0.8] [--turnover 2] [--seed 1]\n"
                   "  [--capacity BYTES (default: the file system's size)] [--max-file 64M]\n"
                   "  [--probe-size 64M] [--out summary.json] [--keep-probe 0]\n";
      return 0;
    }
    std::filesystem::path dir = a.get("dir", "");
    double util = std::stod(a.get("util", "0.8"));
    double turnover = std::stod(a.get("turnover", "2"));
    std::uint64_t seed = a.get_u64("seed", 1);
    std::uint64_t capacity = a.get_size("capacity", 0);
    std::uint64_t max_file = a.get_size("max-file", 64ull << 20);
    std::uint64_t probe_size = a.get_size("probe-size", 64ull << 20);
    std::string out = a.get("out", "");
    bool keep_probe = a.get("keep-probe", "0") == "1";
    a.check_all_used();
    if (dir.empty()) throw std::invalid_argument("--dir is required");
    if (util <= 0 || util >= 1) throw std::invalid_argument("--util must be in (0, 1)");

    struct statvfs sv {};
    std::filesystem::create_directories(dir);
    if (statvfs(dir.c_str(), &sv) != 0) bench::fail_errno("statvfs");
    std::uint64_t fs_size = static_cast<std::uint64_t>(sv.f_blocks) * sv.f_frsize;
    std::uint64_t fs_used = static_cast<std::uint64_t>(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
    bool budget_mode = capacity != 0;
    if (!budget_mode) capacity = fs_size;
    // In file-system mode what is already there counts towards utilisation.
    std::uint64_t base = budget_mode ? 0 : fs_used;
    double target_d = util * static_cast<double>(capacity) - static_cast<double>(base);
    if (target_d < static_cast<double>(kPage))
      throw std::invalid_argument("file system already above the target utilisation");
    std::uint64_t target = static_cast<std::uint64_t>(target_d);
    std::uint64_t goal = static_cast<std::uint64_t>(turnover * static_cast<double>(capacity));
    std::uint64_t cap = std::max<std::uint64_t>(kPage, std::min(max_file, target / 8) / kPage * kPage);

    state st;
    st.root = dir / "aged";
    std::filesystem::remove_all(st.root);
    for (int i = 0; i < 64; ++i) {
      char d[16];
      std::snprintf(d, sizeof d, "d%02d", i);
      std::filesystem::create_directories(st.root / d);
    }
    for (std::size_t i = 0; i < st.pattern.size(); ++i) st.pattern[i] = static_cast<char>(i * 7 + 1);

    bench::rng g(seed);
    auto t0 = std::chrono::steady_clock::now();
    std::uint64_t next_report = goal / 20;
    std::uint64_t pending = draw_size(g, cap);
    while (st.written < goal) {
      while (st.own + pending > target && !st.live.empty()) st.remove(g.below(st.live.size()));
      if (!st.create(pending)) {
        // Real ENOSPC before our target: metadata or other users. Shrink.
        if (st.live.empty()) throw std::runtime_error("no space even for one file");
        st.remove(g.below(st.live.size()));
        target = st.own;  // keep the level we could reach
        continue;
      }
      pending = draw_size(g, cap);
      if (st.written >= next_report) {
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::fprintf(stderr, "[age %7.1fs] %3.0f%% of the turnover goal: %llu files live, %llu created, %llu deleted\n", s,
                     100.0 * static_cast<double>(st.written) / static_cast<double>(goal),
                     static_cast<unsigned long long>(st.live.size()),
                     static_cast<unsigned long long>(st.created),
                     static_cast<unsigned long long>(st.deleted));
        next_report += goal / 20;
      }
    }
    ::sync();

    // Probe: a sequentially written file shows how fragmented free space is.
    if (statvfs(dir.c_str(), &sv) != 0) bench::fail_errno("statvfs");
    std::uint64_t free_b = static_cast<std::uint64_t>(sv.f_bavail) * sv.f_frsize;
    std::uint64_t probe = std::min(probe_size, free_b / 2) / kPage * kPage;
    auto probe_path = dir / "aged-probe.dat";
    std::optional<std::uint64_t> probe_extents;
    if (probe >= kPage) {
      bench::prepare_file(probe_path, probe, bench::layout::fresh, 0);
      probe_extents = bench::extent_count(probe_path);
      if (!keep_probe) {
        std::filesystem::remove(probe_path);
        std::filesystem::remove(probe_path.string() + ".made");
      }
    }
    // Extents of up to 200 live files (seeded sample).
    std::uint64_t sample_ext = 0, sample_bytes = 0, sampled = 0;
    bool have_fiemap = true;
    for (int i = 0; i < 200 && !st.live.empty(); ++i) {
      auto [id, size] = st.live[g.below(st.live.size())];
      auto e = bench::extent_count(st.path(id));
      if (!e) {
        have_fiemap = false;
        break;
      }
      sample_ext += *e;
      sample_bytes += size;
      ++sampled;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    bench::json j;
    j.set("tool", "daxvm-age").set("seed", seed).set("util_target", util).set("turnover_target", turnover);
    j.set("capacity", capacity).set("budget_mode", budget_mode).set("fs_size", fs_size);
    j.set("bytes_live", st.own).set("bytes_written", st.written);
    j.set("turnover", static_cast<double>(st.written) / static_cast<double>(capacity));
    j.set("util_reached", static_cast<double>(st.own + base) / static_cast<double>(capacity));
    j.set("files_live", static_cast<std::uint64_t>(st.live.size()));
    j.set("files_created", st.created).set("files_deleted", st.deleted).set("enospc", st.enospc);
    char dg[32];
    std::snprintf(dg, sizeof dg, "%016llx", static_cast<unsigned long long>(st.digest));
    j.set("ops_digest", dg);
    j.set("probe_size", probe);
    if (probe_extents) j.set("probe_extents", *probe_extents);
    else j.set_null("probe_extents");
    if (probe_extents && probe)
      j.set("probe_extents_per_mib", static_cast<double>(*probe_extents) * (1 << 20) / static_cast<double>(probe));
    else
      j.set_null("probe_extents_per_mib");
    if (have_fiemap && sampled)
      j.set("sample_files", sampled).set("sample_extents_per_file",
                                         static_cast<double>(sample_ext) / static_cast<double>(sampled))
          .set("sample_bytes", sample_bytes);
    else
      j.set_null("sample_extents_per_file");
    j.set("seconds", secs);
    j.set("env", bench::environment(dir));
    std::cout << j.str() << '\n';
    if (!out.empty()) {
      std::ofstream o(out);
      o << j.str() << '\n';
      if (!o) throw std::runtime_error("cannot write " + out);
    }
    return 0;
  } catch (const std::invalid_argument& e) {
    std::cerr << "daxvm-age: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "daxvm-age: " << e.what() << '\n';
    return 1;
  }
}
