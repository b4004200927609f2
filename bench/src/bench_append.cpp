// append: grow a file to --total bytes by appends of size A through write(),
// mmap (ftruncate + map the new range + store + unmap), mmap+populate,
// MAP_DAXVM, and non-temporal stores into a plain or DaxVM mapping.
#include "bench.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

namespace bench {
namespace {

struct append_kind {
  bool via_write = false;
  bool nt = false;
  map_variant mv;
};

std::optional<append_kind> parse_kind(const std::string& v) {
  if (v == "write") return append_kind{.via_write = true};
  if (v == "mmap") return append_kind{};
  if (v == "populate") return append_kind{.mv = {.populate = true}};
  if (v == "daxvm") return append_kind{.mv = {.daxvm = true}};
  if (v == "nt") return append_kind{.nt = true};
  if (v == "daxvm-nt") return append_kind{.nt = true, .mv = {.daxvm = true}};
  return std::nullopt;
}

void write_all(int fd, const char* p, std::size_t len) {
  while (len) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("write");
    }
    p += n;
    len -= static_cast<std::size_t>(n);
  }
}

// Blocks freed by the last trial become allocatable (and, with the
// prezero knob on, get zeroed in the background) only after a journal
// commit: sync, then wait until the zeroing thread has nothing left.
// Not timed; the same for every variant.
bool prezero_on(const std::filesystem::path& dir) {
  daxvm::control ctl;
  auto dev = ctl.device_for(dir);
  if (!dev) return false;
  auto on = ctl.get(daxvm::knob::prezero, *dev);
  return on && *on == 1;
}

// One counter of daxvm_prezero_stats (pending_blocks, used_blocks,
// zeroed_blocks, pool_blocks), or -1.
long prezero_stat(const std::filesystem::path& dir, const std::string& want) {
  daxvm::control ctl;
  auto dev = ctl.device_for(dir);
  if (!dev) return -1;
  std::ifstream in(ctl.knob_path(daxvm::knob::prezero, *dev).parent_path() / "daxvm_prezero_stats");
  std::string key;
  long val;
  while (in >> key >> val)
    if (key == want) return val;
  return -1;
}

void settle_freed_blocks(const std::filesystem::path& dir) {
  ::sync();
  if (!prezero_on(dir)) return;
  // The journal thread reports freed blocks after the commit that sync()
  // waited for, so "nothing pending" counts only once the zeroed count has
  // also stopped moving for a while.
  long last = -1;
  for (int i = 0, quiet = 0; i < 1200 && quiet < 3; ++i) {
    ::usleep(100000);
    long zeroed = prezero_stat(dir, "zeroed_blocks");
    quiet = prezero_stat(dir, "pending_blocks") == 0 && zeroed == last ? quiet + 1 : 0;
    last = zeroed;
  }
}

}  // namespace

int run_append(args& a) {
  common_opts c = parse_common(a);
  std::uint64_t total = a.get_size("total", 64ull << 20);
  auto sizes = a.get_sizes("sizes", "4K,64K,2M");
  auto variants = a.get_list("variants", "write,mmap,populate,daxvm,nt");
  std::string sync = a.get("sync", "end");
  a.check_all_used();
  if (sync != "end" && sync != "each" && sync != "none")
    throw std::invalid_argument("--sync must be end, each or none");
  for (auto& v : variants)
    if (!parse_kind(v)) throw std::invalid_argument("unknown append variant " + v);

  runner run(c, "append");
  auto file = c.dir / "append.dat";
  auto probe = c.dir / "append-probe.dat";
  // With pre-zeroing on, the first trial would find no zeroed blocks:
  // free a file of the run's size first (not timed).
  if (prezero_on(c.dir)) {
    run.rep().progress("seeding the pre-zeroed pool with " + size_label(total));
    int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail_errno("open " + file.string());
    std::vector<char> zero(1 << 20);
    for (std::uint64_t off = 0; off < total; off += zero.size()) write_all(fd, zero.data(), zero.size());
    ::close(fd);
    std::filesystem::remove(file);
    settle_freed_blocks(c.dir);
  }
  for (auto asz : sizes) {
    if (asz == 0 || asz % kPage) throw std::invalid_argument("append size must be a multiple of 4K");
    if (total < asz) throw std::invalid_argument("--total smaller than an append");
    std::uint64_t n = total / asz;
    std::vector<char> src(static_cast<std::size_t>(asz));
    for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<char>('A' + i % 23);
    for (auto& v : variants) {
      auto k = *parse_kind(v);
      json params;
      params.set("total", n * asz).set("append_size", asz).set("sync", sync);
      std::string key = size_label(asz) + "-" + size_label(n * asz) + "-" + sync;
      std::optional<std::string> unsup;
      if (!k.via_write) {
        prepare_file(probe, kPage, layout::fresh, 0);
        unsup = check_mappable(probe, k.mv, true);
      }
      run.run(v, params, key, unsup, [&]() {
        std::error_code ec;
        std::filesystem::remove(file, ec);  // not timed
        settle_freed_blocks(c.dir);
        trial_result r;
        std::uint64_t calls = 0;
        // Blocks that skipped zeroing, and blocks the thread zeroed while
        // the trial ran (should be none: it would compete for the CPU).
        long used0 = prezero_stat(c.dir, "used_blocks");
        long zeroed0 = prezero_stat(c.dir, "zeroed_blocks");
        auto t0 = snapshot();
        int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) fail_errno("open " + file.string());
        calls += 1;
        try {
          for (std::uint64_t i = 0; i < n; ++i) {
            std::uint64_t off = i * asz;
            if (k.via_write) {
              write_all(fd, src.data(), src.size());
              ++calls;
              if (sync == "each") {
                if (::fdatasync(fd) != 0) fail_errno("fdatasync");
                ++calls;
              }
              continue;
            }
            if (::ftruncate(fd, static_cast<off_t>(off + asz)) != 0) fail_errno("ftruncate");
            auto o = to_options(k.mv);
            o.offset = off;
            o.length = static_cast<std::size_t>(asz);
            auto m = daxvm::writable_mapping::map(fd, o);
            if (!m) throw std::system_error(m.error(), "map");
            void* dst = m->writable_bytes().data();
            if (k.nt) copy_nt(dst, src.data(), src.size());
            else std::memcpy(dst, src.data(), src.size());
            calls += 4;  // ftruncate, fstat, mmap, munmap
            if (sync == "each") {
              if (auto e = m->sync()) throw std::system_error(e, "sync");
              ++calls;
            }
            if (auto e = m->unmap()) throw std::system_error(e, "munmap");
          }
          if (sync == "end") {
            if (::fsync(fd) != 0) fail_errno("fsync");
            ++calls;
          }
        } catch (...) {
          ::close(fd);
          throw;
        }
        ::close(fd);
        ++calls;
        auto t1 = snapshot();
        r.d = diff(t0, t1);
        r.ops = n;
        r.bytes = n * asz;
        r.syscalls_per_op = static_cast<double>(calls) / static_cast<double>(n);
        if (used0 >= 0) {
          r.extra.set("prezeroed_blocks_used", prezero_stat(c.dir, "used_blocks") - used0);
          r.extra.set("blocks_zeroed_during_trial", prezero_stat(c.dir, "zeroed_blocks") - zeroed0);
        }
        if (auto e = extent_count(file)) r.extra.set("file_extents", *e);
        else r.extra.set_null("file_extents");
        return r;
      });
    }
  }
  std::error_code ec;
  std::filesystem::remove(file, ec);
  return run.exit_code();
}

}  // namespace bench
