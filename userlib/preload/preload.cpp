// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdaxvm-preload.so: run an unmodified program with MAP_DAXVM.
 *
 * LD_PRELOADed, it interposes mmap() and mmap64(). Every MAP_SHARED (or
 * MAP_SHARED_VALIDATE) mapping of a regular file that does not already ask
 * for a DaxVM flag is first tried as MAP_SHARED_VALIDATE | MAP_DAXVM plus
 * the options from the environment; if the kernel refuses that (no DaxVM,
 * not DAX, not ext4, an option it lacks, a flag stock kernels refuse with
 * MAP_SHARED_VALIDATE such as MAP_FIXED_NOREPLACE) the call is made again
 * exactly as the program asked, with the program's errno.
 *
 *   DAXVM_PRELOAD_BATCHING=0|1   add MAP_DAXVM_BATCHING
 *   DAXVM_PRELOAD_NO_MSYNC=0|1   add MAP_NO_MSYNC (msync/fsync no longer
 *                                make writes through the mapping durable)
 *   DAXVM_PRELOAD_EPHEMERAL=0|1  add MAP_DAXVM_EPHEMERAL (no kernel has it:
 *                                every mapping falls back)
 *   DAXVM_PRELOAD_STATS=FILE     at exit of the process that loaded the
 *                                library, append one line to FILE:
 *                                "attached N fallback M[ refused ERR:K...]"
 *                                (forked children included)
 *
 * Rules for the interposer: nothing here throws, allocates or takes a lock
 * on the mmap path; the counters are lock-free atomics in a shared
 * anonymous page, so they are fork- and async-signal-safe and forked
 * children count into their parent's page.
 */
#include <daxvm/daxvm.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_TYPE
#define MAP_TYPE 0x0f
#endif

static_assert(sizeof(void*) == 8, "built for 64-bit Linux only (see CMakeLists.txt)");

namespace {

using mmap_fn = void* (*)(void*, std::size_t, int, int, int, off_t);
using mmap64_fn = void* (*)(void*, std::size_t, int, int, int, off64_t);

constexpr int daxvm_bits = MAP_DAXVM | MAP_DAXVM_BATCHING | MAP_DAXVM_EPHEMERAL | MAP_NO_MSYNC;
constexpr std::string_view self = "libdaxvm-preload: ";

// Refusals by errno; the last slot counts any larger errno.
constexpr int max_errno = 134;

struct counters {
  std::atomic<std::uint64_t> attached{0};
  std::atomic<std::uint64_t> fallback{0};
  std::array<std::atomic<std::uint64_t>, max_errno + 1> refused{};
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "the counters are shared across fork and bumped in signal handlers");
static_assert(sizeof(counters) <= 4096, "the counters live in one page");

enum class phase : int { none, initializing, ready };

struct state {
  std::atomic<phase> at{phase::none};
  mmap_fn real_mmap = nullptr;
  mmap64_fn real_mmap64 = nullptr;
  int extra_flags = MAP_DAXVM;
  counters* stats = nullptr;
  pid_t first_pid = 0;
  std::array<char, PATH_MAX> stats_path{};  // empty: no report
};

constinit state g;
constinit counters private_counters;  // if the shared page cannot be had

// Before the real mmap is known (a malloc that maps memory while dlsym
// runs, another thread during the constructor) the call goes straight to
// the kernel, unchanged.
void* raw_mmap(void* addr, std::size_t len, int prot, int flags, int fd, off_t off) noexcept {
  return reinterpret_cast<void*>(syscall(SYS_mmap, addr, len, prot, flags, fd, off));
}

void put(std::string_view s) noexcept {
  while (!s.empty()) {
    ssize_t n = write(STDERR_FILENO, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

// A small fixed-size text buffer: no allocation, silently truncates.
template <std::size_t N>
struct line {
  std::array<char, N> buf{};
  std::size_t len = 0;
  line& operator<<(std::string_view s) noexcept {
    std::size_t n = s.size() < N - len ? s.size() : N - len;
    std::memcpy(buf.data() + len, s.data(), n);
    len += n;
    return *this;
  }
  line& operator<<(std::uint64_t v) noexcept {
    auto [end, ec] = std::to_chars(buf.data() + len, buf.data() + N, v);
    if (ec == std::errc{}) len = static_cast<std::size_t>(end - buf.data());
    return *this;
  }
  [[nodiscard]] std::string_view view() const noexcept { return {buf.data(), len}; }
};

// Unset or "0": off, "1": on, anything else: one message, off.
[[nodiscard]] bool env_option(const char* name) noexcept {
  const char* v = std::getenv(name);
  if (v == nullptr) return false;
  std::string_view s(v);
  if (s == "1") return true;
  if (s != "0") {
    if (s.size() > 64) s = s.substr(0, 64);
    line<256> msg;
    msg << self << name << "=\"" << s << "\": want 0 or 1; option off\n";
    put(msg.view());
  }
  return false;
}

// FILE made absolute now, so a later chdir does not move the report.
void set_stats_path() noexcept {
  const char* v = std::getenv("DAXVM_PRELOAD_STATS");
  if (v == nullptr || *v == '\0') return;
  std::string_view s(v);
  auto& out = g.stats_path;
  std::size_t len = 0;
  if (s.front() != '/') {
    if (getcwd(out.data(), out.size()) == nullptr) {
      line<128> msg;
      put((msg << self << "DAXVM_PRELOAD_STATS: no current directory; no report\n").view());
      out[0] = '\0';
      return;
    }
    len = std::strlen(out.data());
    if (len + 1 < out.size()) out[len++] = '/';
  }
  if (len + s.size() + 1 > out.size()) {
    line<128> msg;
    put((msg << self << "DAXVM_PRELOAD_STATS: path too long; no report\n").view());
    out[0] = '\0';
    return;
  }
  std::memcpy(out.data() + len, s.data(), s.size());
  out[len + s.size()] = '\0';
}

void init() noexcept {
  phase expected = phase::none;
  if (!g.at.compare_exchange_strong(expected, phase::initializing, std::memory_order_acq_rel))
    return;  // done, or under way further up this stack or in another thread
  g.real_mmap = reinterpret_cast<mmap_fn>(dlsym(RTLD_NEXT, "mmap"));
  if (g.real_mmap == nullptr) g.real_mmap = raw_mmap;
  g.real_mmap64 = reinterpret_cast<mmap64_fn>(dlsym(RTLD_NEXT, "mmap64"));
  if (g.real_mmap64 == nullptr) g.real_mmap64 = g.real_mmap;

  int flags = MAP_DAXVM;
  if (env_option("DAXVM_PRELOAD_BATCHING")) flags |= MAP_DAXVM_BATCHING;
  if (env_option("DAXVM_PRELOAD_NO_MSYNC")) flags |= MAP_NO_MSYNC;
  if (env_option("DAXVM_PRELOAD_EPHEMERAL")) flags |= MAP_DAXVM_EPHEMERAL;
  g.extra_flags = flags;

  void* page = raw_mmap(nullptr, sizeof(counters), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  g.stats = page == MAP_FAILED ? &private_counters : new (page) counters{};
  g.first_pid = getpid();
  set_stats_path();
  g.at.store(phase::ready, std::memory_order_release);
}

struct errno_name {
  int value;
  std::string_view name;
};
constexpr std::array<errno_name, 14> errno_names{{
    {EOPNOTSUPP, "EOPNOTSUPP"}, {EINVAL, "EINVAL"},   {ENODEV, "ENODEV"},
    {EACCES, "EACCES"},         {EPERM, "EPERM"},     {EEXIST, "EEXIST"},
    {ENOMEM, "ENOMEM"},         {EBADF, "EBADF"},     {EAGAIN, "EAGAIN"},
    {ENXIO, "ENXIO"},           {EOVERFLOW, "EOVERFLOW"}, {ETXTBSY, "ETXTBSY"},
    {EFAULT, "EFAULT"},         {ENOSYS, "ENOSYS"},
}};

template <std::size_t N>
void put_errno(line<N>& l, int e) noexcept {
  for (const auto& n : errno_names)
    if (n.value == e) {
      l << n.name;
      return;
    }
  if (e == max_errno)
    l << "errno>=" << static_cast<std::uint64_t>(max_errno);
  else
    l << "errno" << static_cast<std::uint64_t>(e);
}

// Only the process that loaded the library reports: forked children leave
// their counts in the shared page (and often leave by _exit anyway).
[[gnu::destructor]] void report() noexcept {
  if (g.at.load(std::memory_order_acquire) != phase::ready || g.stats_path[0] == '\0' ||
      getpid() != g.first_pid)
    return;
  const counters& c = *g.stats;
  line<2048> l;
  l << "attached " << c.attached.load(std::memory_order_relaxed) << " fallback "
    << c.fallback.load(std::memory_order_relaxed);
  bool any = false;
  for (int e = 0; e <= max_errno; ++e) {
    std::uint64_t n = c.refused[static_cast<std::size_t>(e)].load(std::memory_order_relaxed);
    if (n == 0) continue;
    l << (any ? " " : " refused ");
    any = true;
    put_errno(l, e);
    l << ":" << n;
  }
  l << "\n";
  int saved = errno;
  int fd = open(g.stats_path.data(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) {
    // One write: lines of concurrent processes do not interleave.
    [[maybe_unused]] ssize_t n = write(fd, l.view().data(), l.view().size());
    close(fd);
  }
  errno = saved;
}

[[gnu::constructor]] void on_load() noexcept { init(); }

[[nodiscard]] bool candidate(int flags, int fd) noexcept {
  int type = flags & MAP_TYPE;
  return fd >= 0 && (flags & MAP_ANONYMOUS) == 0 &&
         (type == MAP_SHARED || type == MAP_SHARED_VALIDATE) && (flags & daxvm_bits) == 0;
}

template <class Fn, class Off>
[[nodiscard]] void* daxvm_mmap(Fn real, void* addr, std::size_t len, int prot, int flags, int fd,
                               Off off) noexcept {
  int saved = errno;
  struct stat st;
  if (!candidate(flags, fd) || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    errno = saved;
    return real(addr, len, prot, flags, fd, off);
  }
  counters& c = *g.stats;
  void* p = real(addr, len, prot, (flags & ~MAP_TYPE) | MAP_SHARED_VALIDATE | g.extra_flags, fd, off);
  if (p != MAP_FAILED) {
    errno = saved;
    c.attached.fetch_add(1, std::memory_order_relaxed);
    return p;
  }
  int why = errno;
  c.fallback.fetch_add(1, std::memory_order_relaxed);
  c.refused[static_cast<std::size_t>(why > 0 && why < max_errno ? why : max_errno)].fetch_add(
      1, std::memory_order_relaxed);
  // Refused as DaxVM: exactly the program's call, with the program's errno.
  errno = saved;
  return real(addr, len, prot, flags, fd, off);
}

[[nodiscard]] bool ready() noexcept {
  if (g.at.load(std::memory_order_acquire) == phase::ready) return true;
  init();
  return g.at.load(std::memory_order_acquire) == phase::ready;
}

}  // namespace

extern "C" {

[[gnu::visibility("default")]] void* mmap(void* addr, std::size_t len, int prot, int flags, int fd,
                                          off_t off) noexcept {
  if (!ready()) return raw_mmap(addr, len, prot, flags, fd, off);
  return daxvm_mmap(g.real_mmap, addr, len, prot, flags, fd, off);
}

[[gnu::visibility("default")]] void* mmap64(void* addr, std::size_t len, int prot, int flags,
                                            int fd, off64_t off) noexcept {
  if (!ready()) return raw_mmap(addr, len, prot, flags, fd, off);
  return daxvm_mmap(g.real_mmap64, addr, len, prot, flags, fd, off);
}

}  // extern "C"
