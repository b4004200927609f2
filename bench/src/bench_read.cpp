// read: one file read whole per operation through read(), mmap,
// mmap+MAP_POPULATE, MAP_DAXVM (and MAP_DAXVM+batching). One operation is
// open + map + touch one byte per 4 KiB (or read into a buffer) + unmap + close.
#include "bench.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <thread>

namespace bench {
namespace {

std::optional<map_variant> mapping_kind(const std::string& v) {
  if (v == "mmap") return map_variant{};
  if (v == "populate") return map_variant{.populate = true};
  if (v == "daxvm") return map_variant{.daxvm = true};
  if (v == "daxvm-batch") return map_variant{.daxvm = true, .batching = true};
  return std::nullopt;
}

int open_ro(const std::filesystem::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_errno("open " + p.string());
  return fd;
}

// One operation with read()/pread(); returns the syscalls it made.
std::uint64_t op_read(const std::filesystem::path& p, std::uint64_t size, bool random,
                      const std::vector<std::uint64_t>& order, std::vector<char>& buf) {
  int fd = open_ro(p);
  std::uint64_t calls = 2, sum = 0;
  if (!random) {
    for (;;) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      ++calls;
      if (n < 0) {
        if (errno == EINTR) continue;
        ::close(fd);
        fail_errno("read");
      }
      if (n == 0) break;
      for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(kPage)) sum += static_cast<unsigned char>(buf[i]);
    }
  } else {
    for (auto pg : order) {
      std::uint64_t off = pg * kPage;
      std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(kPage, size - off));
      if (::pread(fd, buf.data(), len, static_cast<off_t>(off)) < 0) {
        ::close(fd);
        fail_errno("pread");
      }
      ++calls;
      sum += static_cast<unsigned char>(buf[0]);
    }
  }
  ::close(fd);
  consume(sum);
  return calls;
}

// One operation through a mapping; returns the syscalls it made (open,
// fstat, mmap, munmap, close; libdaxvm probes the kernel once per process
// and asks statx only when mmap refuses).
// Adds the time of the map and unmap calls alone to map_s: the target
// "mmap+munmap independent of file size" excludes the touching.
std::uint64_t op_map(const std::filesystem::path& p, const map_variant& v,
                     const std::vector<std::uint64_t>& order, double& map_s) {
  using clk = std::chrono::steady_clock;
  int fd = open_ro(p);
  auto t0 = clk::now();
  auto m = daxvm::mapping::map(fd, to_options(v));
  map_s += std::chrono::duration<double>(clk::now() - t0).count();
  if (!m) {
    ::close(fd);
    throw std::system_error(m.error(), "map " + p.string());
  }
  const auto* b = reinterpret_cast<const volatile unsigned char*>(m->bytes().data());
  std::uint64_t sum = 0;
  for (auto pg : order) sum += b[pg * kPage];
  auto t1 = clk::now();
  auto ec = m->unmap();
  map_s += std::chrono::duration<double>(clk::now() - t1).count();
  if (ec) {
    ::close(fd);
    throw std::system_error(ec, "munmap");
  }
  ::close(fd);
  consume(sum);
  return 5;
}

}  // namespace

int run_read(args& a) {
  common_opts c = parse_common(a);
  auto sizes = a.get_sizes("sizes", "4K,64K,1M,16M");
  auto variants = a.get_list("variants", "read,mmap,populate,daxvm");
  auto orders = a.get_list("orders", "seq");
  auto layouts = a.get_list("layouts", "fresh,frag");
  std::uint64_t budget = a.get_size("budget", 256ull << 20);  // bytes per trial
  std::uint64_t max_ops = a.get_u64("max-ops", 200);
  // Threads share the trial's operations: a multi-threaded server, whose
  // munmap()s cost TLB shootdown IPIs (what MAP_DAXVM_BATCHING batches).
  std::vector<std::uint64_t> threads;
  for (auto& t : a.get_list("threads", "1")) threads.push_back(std::stoull(t));
  bool keep = a.get("keep-files", "1") == "1";
  a.check_all_used();
  for (auto& v : variants)
    if (v != "read" && !mapping_kind(v)) throw std::invalid_argument("unknown read variant " + v);
  for (auto& o : orders)
    if (o != "seq" && o != "rand") throw std::invalid_argument("order must be seq or rand: " + o);
  for (auto nt : threads)
    if (nt == 0) throw std::invalid_argument("threads must be >= 1");

  runner run(c, "read");
  std::vector<char> buf;
  for (auto& ls : layouts) {
    layout l = parse_layout(ls);
    for (auto size : sizes) {
      if (size == 0) throw std::invalid_argument("size 0");
      auto file = c.dir / ("read-" + size_label(size) + "-" + to_string(l) + ".dat");
      run.rep().progress("preparing " + file.string());
      prepare_file(file, size, l, c.seed);
      auto extents = extent_count(file);
      // Page-table space of DaxVM's persistent tables (target: <= 0.3% of
      // file data on fragmented files); absent without the kernel series.
      std::optional<std::uint64_t> table_kb;
      {
        daxvm::control ctl;
        auto dev = ctl.device_for(c.dir);
        auto v = ctl.get(daxvm::knob::kbytes_occupied, dev ? *dev : std::string());
        if (v) table_kb = *v;
      }
      std::uint64_t pages = (size + kPage - 1) / kPage;
      std::uint64_t ops = std::clamp<std::uint64_t>(budget / size, 1, max_ops);
      buf.assign(static_cast<std::size_t>(std::min<std::uint64_t>(size, 1ull << 20)), 0);
      for (auto& o : orders) {
        bool random = o == "rand";
        std::vector<std::uint64_t> order = random ? permutation(pages, c.seed + 7)
                                                    : std::vector<std::uint64_t>{};
        if (!random)
          for (std::uint64_t i = 0; i < pages; ++i) order.push_back(i);
        for (auto nt : threads)
        for (auto& v : variants) {
          json params;
          params.set("size", size).set("order", o).set("layout", to_string(l)).set("ops_per_trial", ops);
          params.set("threads", nt);
          std::string key = size_label(size) + "-" + o + "-" + to_string(l) +
                            (nt == 1 ? "" : "-t" + std::to_string(nt));
          auto mk = mapping_kind(v);
          std::optional<std::string> unsup;
          if (mk) unsup = check_mappable(file, *mk, false);
          run.run(v, params, key, unsup, [&]() {
            trial_result r;
            std::uint64_t calls = 0;
            double map_s = 0;
            // One worker's share; the first takes the remainder.
            auto work = [&](std::uint64_t n, std::vector<char>& b, std::uint64_t& c, double& ms) {
              for (std::uint64_t i = 0; i < n; ++i)
                c += mk ? op_map(file, *mk, order, ms) : op_read(file, size, random, order, b);
            };
            auto t0 = snapshot();
            if (nt == 1) {
              work(ops, buf, calls, map_s);
            } else {
              std::vector<std::uint64_t> c(nt, 0);
              std::vector<double> ms(nt, 0);
              std::vector<std::vector<char>> bufs(nt, buf);
              std::vector<std::exception_ptr> err(nt);
              std::vector<std::thread> pool;
              for (std::uint64_t t = 0; t < nt; ++t)
                pool.emplace_back([&, t] {
                  try {
                    work(ops / nt + (t == 0 ? ops % nt : 0), bufs[t], c[t], ms[t]);
                  } catch (...) {
                    err[t] = std::current_exception();
                  }
                });
              for (auto& th : pool) th.join();
              for (auto& e : err)
                if (e) std::rethrow_exception(e);
              for (std::uint64_t t = 0; t < nt; ++t) calls += c[t], map_s += ms[t];
            }
            auto t1 = snapshot();
            r.d = diff(t0, t1);
            r.ops = ops;
            r.bytes = ops * size;
            r.syscalls_per_op = static_cast<double>(calls) / static_cast<double>(ops);
            if (extents) r.extra.set("file_extents", *extents);
            else r.extra.set_null("file_extents");
            r.extra.set("pages_touched_per_op", pages);
            if (mk) r.extra.set("map_unmap_seconds_per_op", map_s / static_cast<double>(ops));
            else r.extra.set_null("map_unmap_seconds_per_op");
            if (table_kb) r.extra.set("daxvm_kbytes_occupied", *table_kb);
            else r.extra.set_null("daxvm_kbytes_occupied");
            return r;
          });
        }
      }
      if (!keep) {
        std::error_code ec;
        std::filesystem::remove(file, ec);
        std::filesystem::remove(file.string() + ".made", ec);
      }
    }
  }
  return run.exit_code();
}

}  // namespace bench
