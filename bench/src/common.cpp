// common.cpp - see common.hpp.
#include "common.hpp"

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace bench {

// ---- command line ---------------------------------------------------------------
args::args(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument: " + a);
    a = a.substr(2);
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      kv_[a.substr(0, eq)] = a.substr(eq + 1);
    } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      kv_[a] = argv[++i];
    } else {
      kv_[a] = "1";  // a flag
    }
  }
}

std::string args::get(const std::string& key, const std::string& def) {
  used_[key] = true;
  auto it = kv_.find(key);
  return it == kv_.end() ? def : it->second;
}

std::uint64_t args::get_size(const std::string& key, std::uint64_t def) {
  used_[key] = true;
  auto it = kv_.find(key);
  return it == kv_.end() ? def : parse_size(it->second);
}

std::uint64_t args::get_u64(const std::string& key, std::uint64_t def) {
  used_[key] = true;
  auto it = kv_.find(key);
  if (it == kv_.end()) return def;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(it->second.c_str(), &end, 10);
  if (errno || end == it->second.c_str() || *end)
    throw std::invalid_argument("--" + key + ": not a number: " + it->second);
  return v;
}

std::vector<std::string> args::get_list(const std::string& key, const std::string& def) {
  auto v = split(get(key, def), ',');
  if (v.empty()) throw std::invalid_argument("--" + key + ": empty list");
  return v;
}

std::vector<std::uint64_t> args::get_sizes(const std::string& key, const std::string& def) {
  std::vector<std::uint64_t> out;
  for (auto& s : get_list(key, def)) out.push_back(parse_size(s));
  return out;
}

void args::check_all_used() const {
  for (auto& [k, v] : kv_)
    if (!used_.count(k)) throw std::invalid_argument("unknown option --" + k);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

std::uint64_t parse_size(const std::string& s) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (errno || end == s.c_str() || v < 0) throw std::invalid_argument("bad size: " + s);
  std::string unit(end);
  std::uint64_t mult = 1;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "K" || unit == "KiB" || unit == "k") mult = 1ull << 10;
  else if (unit == "M" || unit == "MiB") mult = 1ull << 20;
  else if (unit == "G" || unit == "GiB") mult = 1ull << 30;
  else if (unit == "T" || unit == "TiB") mult = 1ull << 40;
  else throw std::invalid_argument("bad size unit: " + s);
  return static_cast<std::uint64_t>(std::llround(v * static_cast<double>(mult)));
}

std::string size_label(std::uint64_t b) {
  const char* units[] = {"", "K", "M", "G", "T"};
  int u = 0;
  while (u < 4 && b >= 1024 && b % 1024 == 0) {
    b /= 1024;
    ++u;
  }
  return std::to_string(b) + units[u];
}

// ---- randomness -------------------------------------------------------------------
std::uint64_t rng::next() {
  std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::vector<std::uint64_t> permutation(std::uint64_t n, std::uint64_t seed) {
  std::vector<std::uint64_t> p(n);
  for (std::uint64_t i = 0; i < n; ++i) p[i] = i;
  rng r(seed);
  for (std::uint64_t i = n; i > 1; --i) std::swap(p[i - 1], p[r.below(i)]);
  return p;
}

// ---- counters ---------------------------------------------------------------------
static std::map<std::string, std::uint64_t> read_tlb() {
  std::map<std::string, std::uint64_t> m;
  std::ifstream in("/proc/vmstat");
  std::string k;
  std::uint64_t v;
  while (in >> k >> v)
    if (k.rfind("nr_tlb_", 0) == 0) m[k] = v;
  return m;
}

// Sum over CPUs of the "TLB:" row (x86; counted without DEBUG_TLBFLUSH).
static std::optional<std::uint64_t> read_tlb_ipis() {
  std::ifstream in("/proc/interrupts");
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string name;
    if (!(f >> name) || name != "TLB:") continue;
    std::uint64_t sum = 0, v;
    while (f >> v) sum += v;
    return sum;
  }
  return std::nullopt;
}

counters snapshot() {
  counters c;
  c.tlb = read_tlb();
  c.tlb_ipis = read_tlb_ipis();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  c.minflt = ru.ru_minflt;
  c.majflt = ru.ru_majflt;
  c.t = std::chrono::steady_clock::now();  // last: /proc reads are not timed
  return c;
}

delta diff(const counters& a, const counters& b) {
  delta d;
  d.seconds = std::chrono::duration<double>(b.t - a.t).count();
  d.minflt = b.minflt - a.minflt;
  d.majflt = b.majflt - a.majflt;
  if (!a.tlb.empty() && !b.tlb.empty()) {
    std::map<std::string, std::int64_t> t;
    for (auto& [k, v] : b.tlb) {
      auto it = a.tlb.find(k);
      if (it != a.tlb.end())
        t[k] = static_cast<std::int64_t>(v) - static_cast<std::int64_t>(it->second);
    }
    d.tlb = t;
  }
  if (a.tlb_ipis && b.tlb_ipis)
    d.tlb_ipis = static_cast<std::int64_t>(*b.tlb_ipis) - static_cast<std::int64_t>(*a.tlb_ipis);
  return d;
}

// ---- JSON -------------------------------------------------------------------------
std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      case '\r': o += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o + "\"";
}

json& json::set_raw(const std::string& k, const std::string& enc) {
  for (auto& [key, v] : items_)
    if (key == k) {
      v = enc;
      return *this;
    }
  items_.emplace_back(k, enc);
  return *this;
}
json& json::set(const std::string& k, const std::string& v) { return set_raw(k, json_string(v)); }
json& json::set(const std::string& k, double v) {
  if (!std::isfinite(v)) return set_null(k);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return set_raw(k, buf);
}
json& json::set(const std::string& k, bool v) { return set_raw(k, v ? "true" : "false"); }
json& json::set(const std::string& k, const json& v) { return set_raw(k, v.str()); }
json& json::set_null(const std::string& k) { return set_raw(k, "null"); }

std::string json::str() const {
  std::string o = "{";
  bool first = true;
  for (auto& [k, v] : items_) {
    if (!first) o += ", ";
    first = false;
    o += json_string(k) + ": " + v;
  }
  return o + "}";
}

// ---- environment --------------------------------------------------------------------
static std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string l;
  std::getline(in, l);
  return l;
}

static std::string cpuinfo_field(const std::string& name) {
  std::ifstream in("/proc/cpuinfo");
  std::string l;
  while (std::getline(in, l)) {
    if (l.rfind(name, 0) == 0) {
      auto c = l.find(':');
      if (c != std::string::npos) return l.substr(l.find_first_not_of(' ', c + 1));
    }
  }
  return {};
}

static std::string fs_name(long type) {
  switch (static_cast<unsigned long>(type)) {
    case 0xEF53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x01021994: return "tmpfs";
    case 0x9123683E: return "btrfs";
    case 0x794c7630: return "overlayfs";
    default: {
      char b[32];
      std::snprintf(b, sizeof b, "0x%lx", static_cast<unsigned long>(type));
      return b;
    }
  }
}

// dax=always (or legacy dax) / dax=never of the mount holding dir: statx
// reports DAX per regular file, never for a directory. nullopt: dax=inode
// or no dax option (then it depends on the file).
static std::optional<bool> mount_dax(const std::filesystem::path& dir) {
  std::error_code ec;
  std::string p = std::filesystem::weakly_canonical(dir, ec).string();
  std::ifstream in("/proc/self/mounts");
  std::string dev, mnt, type, opts, best;
  std::optional<bool> dax;
  while (in >> dev >> mnt >> type >> opts) {
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    bool under = mnt == "/" || p == mnt || p.starts_with(mnt + "/");
    if (!under || mnt.size() < best.size()) continue;  // the deepest (last) mount wins
    best = mnt;
    dax.reset();
    for (auto& o : split(opts, ','))
      if (o == "dax" || o == "dax=always") dax = true;
      else if (o == "dax=never") dax = false;
  }
  return dax;
}

json environment(const std::filesystem::path& dir) {
  json e;
  utsname u{};
  uname(&u);
  e.set("kernel", u.release);
  e.set("kernel_version", read_first_line("/proc/version"));
  if (const char* c = std::getenv("DAXVM_KERNEL_COMMIT"); c && *c) e.set("kernel_commit", c);
  else e.set_null("kernel_commit");
  e.set("host", u.nodename);
  e.set("machine", u.machine);
  e.set("cpu_model", cpuinfo_field("model name"));
  e.set("cpus_online", static_cast<std::int64_t>(sysconf(_SC_NPROCESSORS_ONLN)));
  std::string flags = " " + cpuinfo_field("flags") + " ";
  bool hv = flags.find(" hypervisor ") != std::string::npos;
  e.set("hypervisor", hv);
  if (const char* a = std::getenv("DAXVM_ACCEL"); a && *a) e.set("accel", a);
  else if (!hv) e.set("accel", "bare-metal");
  else e.set_null("accel");  // a VM, but KVM or TCG is not visible from inside
  struct statfs sf {};
  if (statfs(dir.c_str(), &sf) == 0) e.set("fs_type", fs_name(sf.f_type));
  auto pr = daxvm::probe_file(dir);
  if (auto md = mount_dax(dir)) e.set("fs_dax", *md);
  else if (pr && pr->dax_known) e.set("fs_dax", pr->dax);
  else e.set_null("fs_dax");
  daxvm::control ctl;
  e.set("daxvm_kernel", ctl.has_daxvm());
  json knobs;
  auto dev = ctl.device_for(dir);
  if (dev) e.set("device", *dev);
  for (daxvm::knob k : daxvm::all_knobs()) {
    auto v = ctl.get(k, dev ? *dev : std::string());
    if (v) knobs.set(daxvm::to_string(k), *v);
  }
  e.set("daxvm_knobs", knobs);
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  char ts[64];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  e.set("timestamp", ts);
  return e;
}

// ---- files ------------------------------------------------------------------------
[[noreturn]] void fail_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

layout parse_layout(const std::string& s) {
  if (s == "fresh") return layout::fresh;
  if (s == "frag" || s == "fragmented") return layout::fragmented;
  throw std::invalid_argument("layout must be fresh or frag: " + s);
}
const char* to_string(layout l) { return l == layout::fresh ? "fresh" : "frag"; }

void prepare_file(const std::filesystem::path& p, std::uint64_t size, layout l,
                  std::uint64_t seed) {
  // A tag beside the file says how it was made, so runs reuse it. "v2": the
  // frag layout interleaves with a filler (older frag files were not
  // fragmented on ext4-DAX and must not be reused).
  auto tag = p;
  tag += ".made";
  std::string want = std::to_string(size) + " " + to_string(l) + " " + std::to_string(seed) + " v2";
  std::error_code ec;
  if (std::filesystem::exists(p, ec) && std::filesystem::file_size(p, ec) == size &&
      read_first_line(tag) == want)
    return;
  std::filesystem::remove(p, ec);
  std::filesystem::remove(tag, ec);
  int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_errno("open " + p.string());
  std::vector<char> buf(1 << 20);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<char>('a' + i % 26);
  auto put = [&](std::uint64_t off, std::size_t len) {
    std::size_t done = 0;
    while (done < len) {
      ssize_t n = ::pwrite(fd, buf.data() + done, len - done, static_cast<off_t>(off + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        ::close(fd);
        errno = e;
        fail_errno("pwrite " + p.string());
      }
      done += static_cast<std::size_t>(n);
    }
  };
  if (l == layout::fresh) {
    for (std::uint64_t off = 0; off < size; off += buf.size())
      put(off, static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - off)));
  } else {
    // Fragmented for real: each 4 KiB page (in a seeded random order) is
    // first allocated on its own with fallocate, then a 4 KiB block of a
    // filler file in the same directory, then the page is written; at the
    // end the filler is deleted. A one-block fallocate allocates exactly
    // that block (ext4: no request normalisation, no per-inode
    // preallocation, which made plain random-order writes land in 8 MiB
    // extents; xfs: no speculative preallocation), next to the file's
    // neighbouring block if free; the filler takes the block after it, so
    // no two pages of the file are physically adjacent and each is its own
    // extent, with a free 4 KiB hole beside it once the filler is gone
    // (checked with FIEMAP: ext4 and xfs, 64 MiB, one extent per page).
    // Where fallocate is not supported the pages are only written.
    auto filler_path = p;
    filler_path += ".filler";
    std::filesystem::remove(filler_path, ec);
    int filler = ::open(filler_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (filler < 0) {
      int e = errno;
      ::close(fd);
      errno = e;
      fail_errno("open " + filler_path.string());
    }
    bool interleave = true;
    std::uint64_t pages = (size + kPage - 1) / kPage;
    std::uint64_t k = 0;
    for (auto i : permutation(pages, seed)) {
      std::uint64_t off = i * kPage;
      std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(kPage, size - off));
      if (interleave) {
        if (::fallocate(fd, 0, static_cast<off_t>(off), static_cast<off_t>(len)) != 0 ||
            ::fallocate(filler, 0, static_cast<off_t>(k++ * kPage), kPage) != 0) {
          if (errno != EOPNOTSUPP) {
            int e = errno;
            ::close(fd);
            ::close(filler);
            errno = e;
            fail_errno("fallocate (frag layout) " + p.string());
          }
          interleave = false;
          std::fprintf(stderr, "frag layout: no fallocate on %s, pages written in random "
                       "order only (probably not fragmented)\n", p.c_str());
        }
      }
      put(off, len);
    }
    ::close(filler);
    std::filesystem::remove(filler_path, ec);
  }
  if (::fsync(fd) != 0) fail_errno("fsync " + p.string());
  ::close(fd);
  std::ofstream(tag) << want << '\n';
}

std::optional<std::uint64_t> extent_count(const std::filesystem::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct fiemap fm {};
  fm.fm_start = 0;
  fm.fm_length = FIEMAP_MAX_OFFSET;
  fm.fm_flags = FIEMAP_FLAG_SYNC;
  fm.fm_extent_count = 0;  // count only
  int rc = ::ioctl(fd, FS_IOC_FIEMAP, &fm);
  ::close(fd);
  if (rc != 0) return std::nullopt;
  return fm.fm_mapped_extents;
}

// ---- results ------------------------------------------------------------------------
reporter::reporter(std::filesystem::path out_dir, std::filesystem::path bench_dir,
                   std::string benchmark)
    : out_(std::move(out_dir)), benchmark_(std::move(benchmark)),
      env_(environment(bench_dir)), start_(std::chrono::steady_clock::now()) {
  std::filesystem::create_directories(out_);
}

void reporter::write(const std::string& variant, const json& params, const std::string& key,
                     int trial, const trial_result& r) {
  json j;
  j.set("schema", 1);
  j.set("benchmark", benchmark_);
  j.set("variant", variant);
  j.set("params", params);
  j.set("trial", trial);
  j.set("status", r.status);
  if (!r.reason.empty()) j.set("reason", r.reason);
  else j.set_null("reason");
  if (r.status == "ok") {
    double ops = r.ops ? static_cast<double>(r.ops) : 1.0;
    j.set("seconds", r.d.seconds);
    j.set("ops", r.ops);
    j.set("bytes", r.bytes);
    j.set("seconds_per_op", r.d.seconds / ops);
    j.set("faults_minor", r.d.minflt);
    j.set("faults_major", r.d.majflt);
    j.set("faults_minor_per_op", static_cast<double>(r.d.minflt) / ops);
    j.set("faults_major_per_op", static_cast<double>(r.d.majflt) / ops);
    if (r.d.tlb) {
      json t;
      std::int64_t total = 0;
      for (auto& [k, v] : *r.d.tlb) {
        t.set(k, v);
        if (k != "nr_tlb_remote_flush_received") total += v;
      }
      j.set("tlb_flushes", t);
      j.set("tlb_flushes_per_op", static_cast<double>(total) / ops);
    } else {
      j.set_null("tlb_flushes");  // kernel without CONFIG_DEBUG_TLBFLUSH
      j.set_null("tlb_flushes_per_op");
    }
    if (r.d.tlb_ipis) {
      j.set("tlb_shootdown_ipis", *r.d.tlb_ipis);
      j.set("tlb_shootdown_ipis_per_op", static_cast<double>(*r.d.tlb_ipis) / ops);
    } else {
      j.set_null("tlb_shootdown_ipis");
      j.set_null("tlb_shootdown_ipis_per_op");
    }
    if (r.syscalls_per_op >= 0) j.set("syscalls_per_op", r.syscalls_per_op);
    else j.set_null("syscalls_per_op");
  } else {
    for (auto* k : {"seconds", "ops", "bytes", "seconds_per_op", "faults_minor",
                    "faults_major", "faults_minor_per_op", "faults_major_per_op",
                    "tlb_flushes", "tlb_flushes_per_op", "tlb_shootdown_ipis",
                    "tlb_shootdown_ipis_per_op", "syscalls_per_op"})
      j.set_null(k);
  }
  j.set("extra", r.extra);
  j.set("env", env_);
  std::string name = benchmark_ + "-" + variant + "-" + key + "-t" + std::to_string(trial) + ".json";
  auto path = out_ / name;
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream o(tmp);
    o << j.str() << '\n';
    if (!o) throw std::runtime_error("cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, path);
}

void reporter::progress(const std::string& line) const {
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "[%s %7.1fs] %s\n", benchmark_.c_str(), s, line.c_str());
}

bool is_unsupported(std::error_code ec) {
  return ec == daxvm::errc::kernel_lacks_daxvm || ec == daxvm::errc::not_dax ||
         ec == std::errc::operation_not_supported;
}

// ---- knobs ---------------------------------------------------------------------------
knob_guard::knob_guard(const std::vector<std::string>& settings,
                       const std::filesystem::path& dir) {
  if (settings.empty()) return;
  auto dev = ctl_.device_for(dir);
  if (dev) dev_ = *dev;
  for (auto& s : settings) {
    auto eq = s.find('=');
    std::string name = s.substr(0, eq);
    std::string val = eq == std::string::npos ? "" : s.substr(eq + 1);
    asked_.emplace_back(name, val);
    if (!reason_.empty()) continue;
    const auto k = daxvm::knob_from_string(name);
    if (!k || val.empty()) {
      reason_ = "bad knob setting: " + s;
      continue;
    }
    auto old = ctl_.get(*k, dev_);
    if (!old) {
      reason_ = "knob " + name + ": " + old.error().message();
      continue;
    }
    if (auto ec = ctl_.set(*k, std::stoull(val), dev_)) {
      reason_ = "knob " + name + "=" + val + ": " + ec.message();
      continue;
    }
    restore_.emplace_back(*k, *old);
  }
}

knob_guard::~knob_guard() {
  for (auto it = restore_.rbegin(); it != restore_.rend(); ++it)
    (void)ctl_.set(it->first, it->second, dev_);
}

json knob_guard::describe() const {
  json j;
  for (auto& [k, v] : asked_) j.set(k, v);
  return j;
}

static volatile std::uint64_t g_sink;
void consume(std::uint64_t v) { g_sink = g_sink + v; }

}  // namespace bench
