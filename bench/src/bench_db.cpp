// db: many small records (--record-size, 256 B) read or updated in place at
// random through pread/pwrite, mmap or MAP_DAXVM, by 1..T threads sharing
// one open file (and one mapping). One trial = open + map + T x --ops record
// operations + (updates) one sync + unmap + close.
#include "bench.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <thread>

namespace bench {
namespace {

std::optional<map_variant> mapping_kind(const std::string& v) {
  if (v == "mmap") return map_variant{};
  if (v == "daxvm") return map_variant{.daxvm = true};
  return std::nullopt;
}

}  // namespace

int run_db(args& a) {
  common_opts c = parse_common(a);
  std::uint64_t records = a.get_u64("records", 1 << 18);
  std::uint64_t rsz = a.get_size("record-size", 256);
  auto mixes = a.get_list("mix", "read,update");
  auto threads = a.get_list("threads", "1,2");
  std::uint64_t ops = a.get_u64("ops", 100000);  // per thread
  auto variants = a.get_list("variants", "pread,mmap,daxvm");
  a.check_all_used();
  if (rsz == 0 || kPage % rsz) throw std::invalid_argument("record size must divide 4K");
  for (auto& v : variants)
    if (v != "pread" && !mapping_kind(v)) throw std::invalid_argument("unknown db variant " + v);
  for (auto& m : mixes)
    if (m != "read" && m != "update") throw std::invalid_argument("mix must be read or update");

  runner run(c, "db");
  std::uint64_t size = (records * rsz + kPage - 1) / kPage * kPage;
  auto file = c.dir / ("db-" + std::to_string(records) + "x" + std::to_string(rsz) + ".dat");
  run.rep().progress("preparing " + file.string());
  prepare_file(file, size, layout::fresh, c.seed);
  for (auto& mix : mixes) {
    bool update = mix == "update";
    for (auto& ts : threads) {
      unsigned nt = static_cast<unsigned>(std::stoul(ts));
      if (nt == 0) throw std::invalid_argument("threads must be >= 1");
      for (auto& v : variants) {
        auto mk = mapping_kind(v);
        json params;
        params.set("records", records).set("record_size", rsz).set("mix", mix)
            .set("threads", static_cast<std::uint64_t>(nt)).set("ops_per_thread", ops);
        std::string key = mix + "-" + std::to_string(records) + "x" + std::to_string(rsz) + "-t" + ts;
        std::optional<std::string> unsup;
        if (mk) unsup = check_mappable(file, *mk, update);
        run.run(v, params, key, unsup, [&]() {
          trial_result r;
          auto t0 = snapshot();
          int fd = ::open(file.c_str(), (update ? O_RDWR : O_RDONLY) | O_CLOEXEC);
          if (fd < 0) fail_errno("open " + file.string());
          // Writable only for updates; m is whichever was made.
          std::optional<daxvm::mapping> ro;
          std::optional<daxvm::writable_mapping> rw;
          if (mk) {
            std::error_code ec;
            if (update) {
              auto w = daxvm::writable_mapping::map(fd, to_options(*mk));
              if (w) rw = std::move(*w); else ec = w.error();
            } else {
              auto r = daxvm::mapping::map(fd, to_options(*mk));
              if (r) ro = std::move(*r); else ec = r.error();
            }
            if (ec) {
              ::close(fd);
              throw std::system_error(ec, "map");
            }
          }
          daxvm::mapping* m = rw ? &*rw : ro ? &*ro : nullptr;
          std::atomic<int> failed{0};
          auto worker = [&](unsigned tid) {
            rng g(c.seed * 1000003 + tid);
            std::vector<char> rec(static_cast<std::size_t>(rsz), static_cast<char>('r' + tid));
            std::uint64_t sum = 0;
            auto* base = m ? m->bytes().data() : nullptr;
            auto* wbase = rw ? rw->writable_bytes().data() : nullptr;
            for (std::uint64_t i = 0; i < ops; ++i) {
              std::uint64_t off = g.below(records) * rsz;
              if (update) {
                rec[0] = static_cast<char>(i);
                if (wbase) std::memcpy(wbase + off, rec.data(), rec.size());
                else if (::pwrite(fd, rec.data(), rec.size(), static_cast<off_t>(off)) < 0) ++failed;
              } else {
                if (base) std::memcpy(rec.data(), base + off, rec.size());
                else if (::pread(fd, rec.data(), rec.size(), static_cast<off_t>(off)) < 0) ++failed;
                sum += static_cast<unsigned char>(rec[rsz / 2]);
              }
            }
            consume(sum);
          };
          std::vector<std::thread> pool;
          for (unsigned t = 1; t < nt; ++t) pool.emplace_back(worker, t);
          worker(0);
          for (auto& th : pool) th.join();
          if (update) {
            if (m) {
              if (auto e = m->sync()) failed += 1;
            } else if (::fdatasync(fd) != 0) {
              ++failed;
            }
          }
          if (m) (void)m->unmap();
          ::close(fd);
          auto t1 = snapshot();
          if (failed) throw std::runtime_error("record I/O failed");
          r.d = diff(t0, t1);
          r.ops = ops * nt;
          r.bytes = r.ops * rsz;
          r.syscalls_per_op = mk ? 6.0 / static_cast<double>(r.ops) : 1.0;
          return r;
        });
      }
    }
  }
  return run.exit_code();
}

}  // namespace bench
