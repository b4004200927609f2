// Capability probes: DaxVM kernel, DAX file, MAP_SYNC.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <charconv>

#include <cstdlib>

#include "internal.hpp"
#include "test_seam.hpp"

namespace daxvm {
namespace detail {

result<std::string> read_text(const std::filesystem::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(last_errno());
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto ec = last_errno();
      ::close(fd);
      return fail(ec);
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > 65536) break;  // knobs are tiny; never slurp a big file
  }
  ::close(fd);
  return text;
}

bool parse_u64(std::string_view s, std::uint64_t& out) noexcept {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size();
}

}  // namespace detail

namespace {

result<int> read_kernel_version(const std::filesystem::path& proc_root) {
  auto text = detail::read_text(proc_root / "fs/daxvm/version");
  if (!text) {
    auto ec = text.error();
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory)
      return fail(errc::kernel_lacks_daxvm);
    return fail(ec);
  }
  std::uint64_t v = 0;
  if (!detail::parse_u64(*text, v) || v == 0 || v > 1000000) return fail(errc::bad_knob_value);
  return static_cast<int>(v);
}

}  // namespace

namespace detail {

namespace {
std::filesystem::path env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// DAXVM_PROC_ROOT and DAXVM_SYS_ROOT are for end-to-end tests of programs
// (the examples' tests run daxvm-ctl on fake trees).
fs_roots& current_roots() noexcept {
  static fs_roots r{env_or("DAXVM_PROC_ROOT", "/proc"), env_or("DAXVM_SYS_ROOT", "/sys")};
  return r;
}
}  // namespace

const fs_roots& roots() noexcept { return current_roots(); }

scoped_roots::scoped_roots(std::filesystem::path proc, std::filesystem::path sys)
    : saved_(std::exchange(current_roots(), fs_roots{std::move(proc), std::move(sys)})) {}

scoped_roots::~scoped_roots() { current_roots() = std::move(saved_); }

}  // namespace detail

result<int> kernel_version() {
  // The running kernel cannot change under a process: probe the real
  // /proc once (every mapping asks; short-lived mappings pay for syscalls).
  const auto& proc = detail::roots().proc;
  if (proc == "/proc") {
    static const result<int> running = read_kernel_version(proc);
    return running;
  }
  return read_kernel_version(proc);
}

bool kernel_has_daxvm() { return kernel_version().has_value(); }

result<file_probe> probe_fd(int fd) {
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) != 0)
    return fail(detail::last_errno());
  file_probe p;
  p.dax_known = (stx.stx_attributes_mask & STATX_ATTR_DAX) != 0;
  p.dax = p.dax_known && (stx.stx_attributes & STATX_ATTR_DAX) != 0;
  // MAP_SYNC is only honoured with MAP_SHARED_VALIDATE; the file system
  // refuses it (EOPNOTSUPP) unless the file is DAX. Read-only is enough.
  long page = ::sysconf(_SC_PAGESIZE);
  void* a = ::mmap(nullptr, static_cast<std::size_t>(page), PROT_READ,
                   MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
  if (a != MAP_FAILED) {
    p.map_sync = true;
    ::munmap(a, static_cast<std::size_t>(page));
  }
  return p;
}

result<file_probe> probe_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(detail::last_errno());
  auto r = probe_fd(fd);
  ::close(fd);
  return r;
}

}  // namespace daxvm
