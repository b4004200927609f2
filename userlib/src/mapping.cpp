// The RAII file mapping: validation, capability policy, mmap, sync.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "internal.hpp"

namespace daxvm {
namespace {

std::size_t page_size() noexcept {
  static const std::size_t ps = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return ps;
}

// The mmap flags of the DaxVM options (valid(): they come with daxvm).
int daxvm_flags(map_flags o) noexcept {
  int f = has(o, map_flags::daxvm) ? MAP_DAXVM : 0;
  if (has(o, map_flags::batching)) f |= MAP_DAXVM_BATCHING;
  if (has(o, map_flags::ephemeral)) f |= MAP_DAXVM_EPHEMERAL;
  if (has(o, map_flags::no_msync)) f |= MAP_NO_MSYNC;
  return f;
}

}  // namespace

const char* to_string(fallback_reason r) noexcept {
  switch (r) {
    case fallback_reason::none: return "none";
    case fallback_reason::kernel_lacks_daxvm: return "kernel_lacks_daxvm";
    case fallback_reason::not_dax: return "not_dax";
    case fallback_reason::option_unsupported: return "option_unsupported";
    case fallback_reason::fs_lacks_daxvm: return "fs_lacks_daxvm";
  }
  return "unknown";
}

map_options ephemeral_options() {
  // Short-lived: let the kernel batch the TLB flushes too.
  return {.flags = map_flags::daxvm | map_flags::ephemeral | map_flags::batching |
                   map_flags::fallback};
}

mapping::mapping(mapping&& other) noexcept
    : addr_(std::exchange(other.addr_, nullptr)),
      len_(std::exchange(other.len_, 0)),
      off_(std::exchange(other.off_, 0)),
      flags_(std::exchange(other.flags_, 0)),
      writable_(std::exchange(other.writable_, false)),
      user_flush_(std::exchange(other.user_flush_, false)),
      reason_(std::exchange(other.reason_, fallback_reason::none)) {}

mapping& mapping::operator=(mapping&& other) noexcept {
  if (this != &other) {
    if (addr_) ::munmap(addr_, len_);
    addr_ = std::exchange(other.addr_, nullptr);
    len_ = std::exchange(other.len_, 0);
    off_ = std::exchange(other.off_, 0);
    flags_ = std::exchange(other.flags_, 0);
    writable_ = std::exchange(other.writable_, false);
    user_flush_ = std::exchange(other.user_flush_, false);
    reason_ = std::exchange(other.reason_, fallback_reason::none);
  }
  return *this;
}

// No msync here: it would defeat cheap (batched) unmaps and no-msync mode.
mapping::~mapping() {
  if (addr_) ::munmap(addr_, len_);
}

result<mapping> mapping::map(const std::filesystem::path& path, const map_options& o) {
  if (has(o.flags, map_flags::write)) return fail(std::errc::invalid_argument);
  return map_any(path, o);
}

result<mapping> mapping::map(int fd, const map_options& o) {
  if (has(o.flags, map_flags::write)) return fail(std::errc::invalid_argument);
  return map_any(fd, o);
}

result<writable_mapping> writable_mapping::map(const std::filesystem::path& path, map_options o) {
  o.flags |= map_flags::write;
  auto m = map_any(path, o);
  if (!m) return fail(m.error());
  return writable_mapping(std::move(*m));
}

result<writable_mapping> writable_mapping::map(int fd, map_options o) {
  o.flags |= map_flags::write;
  auto m = map_any(fd, o);
  if (!m) return fail(m.error());
  return writable_mapping(std::move(*m));
}

result<mapping> mapping::map_any(const std::filesystem::path& path, const map_options& o) {
  // A private writable mapping only needs read access to the file.
  bool rw = has(o.flags, map_flags::write) && !has(o.flags, map_flags::private_copy);
  int fd = ::open(path.c_str(), (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return fail(detail::last_errno());
  auto r = map_any(fd, o);
  ::close(fd);
  return r;
}

result<mapping> mapping::map_any(int fd, const map_options& o) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(detail::last_errno());
  if (S_ISDIR(st.st_mode)) return fail(std::errc::is_a_directory);
  if (!S_ISREG(st.st_mode)) return fail(std::errc::no_such_device);
  if (st.st_size == 0) return fail(errc::empty_file);
  if (o.offset % page_size() != 0) return fail(errc::unaligned_offset);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (o.offset >= size) return fail(errc::range_beyond_eof);
  const std::uint64_t len = o.length ? o.length : size - o.offset;
  if (len > size - o.offset) return fail(errc::range_beyond_eof);
  // DaxVM options without daxvm, DaxVM or MAP_SYNC on a private mapping
  // (the kernel refuses those), unknown bits: a misuse, said early.
  if (!valid(o.flags)) return fail(std::errc::invalid_argument);

  const bool fallback = has(o.flags, map_flags::fallback);
  fallback_reason reason = fallback_reason::none;
  bool use_daxvm = has(o.flags, map_flags::daxvm);
  bool use_sync = has(o.flags, map_flags::sync);
  // Options this kernel's DaxVM lacks are known from its version: no
  // mmap() call is spent on finding out.
  int known = 0;
  if (use_daxvm) {
    auto v = kernel_version();
    if (!v) {
      if (!fallback) return fail(errc::kernel_lacks_daxvm);
      use_daxvm = false;
      reason = fallback_reason::kernel_lacks_daxvm;
    } else {
      known = detail::kernel_map_flags(*v);
      if (daxvm_flags(o.flags) & ~known) {
        if (!fallback) return fail(errc::option_unsupported);
        reason = fallback_reason::option_unsupported;
      }
    }
  }
  const int prot = PROT_READ | (has(o.flags, map_flags::write) ? PROT_WRITE : 0);
  // MAP_SHARED_VALIDATE: plain MAP_SHARED would silently drop unknown flags.
  int flags = has(o.flags, map_flags::private_copy) ? MAP_PRIVATE : MAP_SHARED_VALIDATE;
  if (has(o.flags, map_flags::populate)) flags |= MAP_POPULATE;
  int extra = (use_daxvm ? daxvm_flags(o.flags) & known : 0) | (use_sync ? MAP_SYNC : 0);
  const auto off = static_cast<off_t>(o.offset);
  // No DAX check up front: the kernel refuses DaxVM and MAP_SYNC on other
  // files (EOPNOTSUPP), and the retries below tell why.
  void* a = ::mmap(nullptr, len, prot, flags | extra, fd, off);
  const int basic = (use_daxvm ? MAP_DAXVM : 0) | (use_sync ? MAP_SYNC : 0);
  if (a == MAP_FAILED && errno == EOPNOTSUPP && extra != basic) {
    // Refused with options but not without them: this DaxVM lacks an
    // option (batching, ephemeral, no-msync), the file is fine.
    a = ::mmap(nullptr, len, prot, flags | basic, fd, off);
    if (a != MAP_FAILED) {
      if (!fallback) {
        ::munmap(a, len);
        return fail(errc::option_unsupported);
      }
      extra = basic;
      if (reason == fallback_reason::none) reason = fallback_reason::option_unsupported;
    } else if (errno == EOPNOTSUPP) {
      extra = basic;
    }
  }
  if (a == MAP_FAILED && errno == EOPNOTSUPP && extra != 0) {
    // Refused even without options: the file is not DAX, or its file
    // system has no DaxVM (a DAX file on xfs); statx tells which.
    auto p = (extra & MAP_DAXVM) ? probe_fd(fd) : result<file_probe>(file_probe{});
    const bool no_fs = p && p->dax;
    if (!fallback) return fail(no_fs ? errc::fs_lacks_daxvm : errc::not_dax);
    extra = no_fs && use_sync ? MAP_SYNC : 0;
    if (reason == fallback_reason::none)
      reason = no_fs ? fallback_reason::fs_lacks_daxvm : fallback_reason::not_dax;
    a = ::mmap(nullptr, len, prot, flags | extra, fd, off);
  }
  if (a == MAP_FAILED) return fail(detail::last_errno());

  mapping m;
  m.addr_ = a;
  m.len_ = static_cast<std::size_t>(len);
  m.off_ = o.offset;
  m.flags_ = flags | extra;
  m.writable_ = (prot & PROT_WRITE) != 0;
  m.user_flush_ = (extra & MAP_NO_MSYNC) != 0;
  m.reason_ = reason;
  return m;
}

std::error_code mapping::sync() noexcept { return sync(0, len_); }

std::error_code mapping::sync(std::size_t offset, std::size_t length) noexcept {
  if (!addr_ || offset > len_ || length > len_ - offset)
    return std::make_error_code(std::errc::invalid_argument);
  if (length == 0) return {};
  auto* start = static_cast<std::byte*>(addr_) + offset;
#if defined(__x86_64__)
  if (user_flush_) {  // kernel does no dirty tracking for MAP_NO_MSYNC
    flush_cpu_caches(start, length);
    return {};
  }
#endif
  // msync wants a page-aligned address; cover the requested bytes.
  auto addr = reinterpret_cast<std::uintptr_t>(start);
  auto aligned = addr & ~(static_cast<std::uintptr_t>(page_size()) - 1);
  if (::msync(reinterpret_cast<void*>(aligned), addr + length - aligned, MS_SYNC) != 0)
    return detail::last_errno();
  return {};
}

std::error_code mapping::unmap() noexcept {
  if (!addr_) return std::make_error_code(std::errc::invalid_argument);
  if (::munmap(addr_, len_) != 0) return detail::last_errno();
  addr_ = nullptr;    // already unmapped: the assignment must not unmap again
  *this = mapping{};
  return {};
}

#if defined(__x86_64__)
namespace {
enum class flush_insn { clwb, clflushopt, clflush };

flush_insn pick_flush() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    if (b & (1u << 24)) return flush_insn::clwb;
    if (b & (1u << 23)) return flush_insn::clflushopt;
  }
  return flush_insn::clflush;
}

__attribute__((target("clwb"))) void do_clwb(const char* p) { _mm_clwb(const_cast<char*>(p)); }
__attribute__((target("clflushopt"))) void do_clflushopt(const char* p) {
  _mm_clflushopt(const_cast<char*>(p));
}
}  // namespace

void flush_cpu_caches(const void* addr, std::size_t length) noexcept {
  static const flush_insn insn = pick_flush();
  constexpr std::uintptr_t line = 64;
  auto p = reinterpret_cast<std::uintptr_t>(addr) & ~(line - 1);
  const auto end = reinterpret_cast<std::uintptr_t>(addr) + length;
  for (; p < end; p += line) {
    const char* c = reinterpret_cast<const char*>(p);
    switch (insn) {
      case flush_insn::clwb: do_clwb(c); break;
      case flush_insn::clflushopt: do_clflushopt(c); break;
      case flush_insn::clflush: _mm_clflush(c); break;
    }
  }
  _mm_sfence();  // order the write-backs before anything that follows
}
#else
void flush_cpu_caches(const void*, std::size_t) noexcept {}
#endif

}  // namespace daxvm
