// overwrite: 4 KiB random overwrites of a file of --size bytes through
// pwrite, mmap, MAP_DAXVM (kernel dirty tracking) and MAP_DAXVM with
// MAP_NO_MSYNC. Tracked variants are made durable once at the end
// (fdatasync / msync); the nosync one flushes each write from user space.
// One trial = open + map + --writes overwrites + sync + unmap + close.
#include "bench.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

namespace bench {
namespace {

std::optional<map_variant> mapping_kind(const std::string& v) {
  if (v == "mmap") return map_variant{};
  if (v == "daxvm") return map_variant{.daxvm = true};
  if (v == "daxvm-nosync") return map_variant{.daxvm = true, .no_msync = true};
  return std::nullopt;
}

}  // namespace

int run_overwrite(args& a) {
  common_opts c = parse_common(a);
  auto sizes = a.get_sizes("sizes", a.get("size", "64M"));
  std::uint64_t writes = a.get_u64("writes", 16384);
  auto variants = a.get_list("variants", "write,mmap,daxvm,daxvm-nosync");
  layout l = parse_layout(a.get("layout", "fresh"));
  a.check_all_used();
  for (auto& v : variants)
    if (v != "write" && !mapping_kind(v)) throw std::invalid_argument("unknown overwrite variant " + v);

  runner run(c, "overwrite");
  std::vector<char> src(kPage);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<char>('0' + i % 10);
  for (auto size : sizes) {
    if (size < kPage) throw std::invalid_argument("size below 4K");
    auto file = c.dir / ("overwrite-" + size_label(size) + "-" + to_string(l) + ".dat");
    run.rep().progress("preparing " + file.string());
    prepare_file(file, size, l, c.seed);
    std::uint64_t pages = size / kPage;
    std::vector<std::uint64_t> targets(writes);
    rng g(c.seed + 11);
    for (auto& t : targets) t = g.below(pages);
    for (auto& v : variants) {
      auto mk = mapping_kind(v);
      json params;
      params.set("size", size).set("writes", writes).set("layout", to_string(l)).set("write_size", kPage);
      std::string key = size_label(size) + "-" + std::to_string(writes) + "-" + to_string(l);
      std::optional<std::string> unsup;
      if (mk) unsup = check_mappable(file, *mk, true);
      run.run(v, params, key, unsup, [&]() {
        trial_result r;
        auto t0 = snapshot();
        int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0) fail_errno("open " + file.string());
        double sync_s = 0;
        std::uint64_t calls = 2;
        try {
          if (!mk) {
            for (auto t : targets) {
              if (::pwrite(fd, src.data(), kPage, static_cast<off_t>(t * kPage)) != static_cast<ssize_t>(kPage))
                fail_errno("pwrite");
            }
            calls += writes;
            auto s0 = std::chrono::steady_clock::now();
            if (::fdatasync(fd) != 0) fail_errno("fdatasync");
            sync_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
            calls += 1;
          } else {
            auto m = daxvm::writable_mapping::map(fd, to_options(*mk));
            if (!m) throw std::system_error(m.error(), "map");
            auto* base = m->writable_bytes().data();
            auto s0 = std::chrono::steady_clock::now();
            if (mk->no_msync) {
              // What a nosync application does: flush each write's cache
              // lines itself (clwb + sfence, no syscall). A final whole-file
              // flush would cost O(file size) and measure the wrong thing.
              for (auto t : targets) {
                std::memcpy(base + t * kPage, src.data(), kPage);
                if (auto e = m->sync(t * kPage, kPage)) throw std::system_error(e, "flush");
              }
            } else {
              for (auto t : targets) std::memcpy(base + t * kPage, src.data(), kPage);
              s0 = std::chrono::steady_clock::now();
              if (auto e = m->sync()) throw std::system_error(e, "sync");
            }
            sync_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
            if (auto e = m->unmap()) throw std::system_error(e, "munmap");
            calls += 4;  // fstat, mmap, msync (none for no_msync), munmap
          }
        } catch (...) {
          ::close(fd);
          throw;
        }
        ::close(fd);
        auto t1 = snapshot();
        r.d = diff(t0, t1);
        r.ops = writes;
        r.bytes = writes * kPage;
        r.syscalls_per_op = static_cast<double>(calls) / static_cast<double>(writes);
        r.extra.set("sync_seconds", sync_s);
        return r;
      });
    }
  }
  return run.exit_code();
}

}  // namespace bench
