// SPDX-License-Identifier: LGPL-2.1-or-later
// daxvm.hpp - C++ interface of the DaxVM user library.
#pragma once

#include <daxvm/daxvm.h>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace daxvm {

// ---- Errors ---------------------------------------------------------------
// Library conditions that have no errno of their own. Each also compares
// equal to a close std::errc (e.g. not_dax == operation_not_supported).
enum class errc {
  kernel_lacks_daxvm = 1,  // no /proc/fs/daxvm/version
  not_dax,                 // file is not on a DAX mount
  empty_file,              // zero-length file cannot be mapped
  unaligned_offset,        // offset is not a multiple of the page size
  range_beyond_eof,        // offset/length reach past end of file
  knob_unavailable,        // DaxVM present but this knob file is missing
  bad_knob_value,          // knob content or requested value is not valid
  knob_read_only,          // knob cannot be written
  option_unsupported,      // DaxVM works but not with a requested option (e.g. batching)
  fs_lacks_daxvm,          // DAX file on a file system without DaxVM (e.g. xfs)
};

[[nodiscard]] const std::error_category& category() noexcept;
[[nodiscard]] std::error_code make_error_code(errc e) noexcept;

}  // namespace daxvm

template <>
struct std::is_error_code_enum<daxvm::errc> : std::true_type {};

namespace daxvm {

// A value or an error_code: std::expected with its full interface. Build
// an error with daxvm::fail(e) (e: daxvm::errc, std::errc or error_code).
template <class T>
using result = std::expected<T, std::error_code>;

[[nodiscard]] inline std::unexpected<std::error_code> fail(std::error_code ec) noexcept {
  return std::unexpected(ec);
}
[[nodiscard]] inline std::unexpected<std::error_code> fail(errc e) noexcept {
  return std::unexpected(make_error_code(e));
}
[[nodiscard]] inline std::unexpected<std::error_code> fail(std::errc e) noexcept {
  return std::unexpected(std::make_error_code(e));
}

// ---- Contract constants (from daxvm.h) -------------------------------------
inline constexpr int uapi_version = DAXVM_UAPI_VERSION;
inline constexpr int map_daxvm = MAP_DAXVM;
inline constexpr int map_batching = MAP_DAXVM_BATCHING;
inline constexpr int map_ephemeral = MAP_DAXVM_EPHEMERAL;
inline constexpr int map_no_msync = MAP_NO_MSYNC;

// ---- Probe ----------------------------------------------------------------
// DaxVM uapi version from /proc/fs/daxvm/version, or
// errc::kernel_lacks_daxvm. Syscall numbers alone prove nothing (reused
// upstream), so this file is the only test.
[[nodiscard]] result<int> kernel_version();
[[nodiscard]] bool kernel_has_daxvm();

struct file_probe {
  bool dax_known = false;  // the file system reports STATX_ATTR_DAX at all
  bool dax = false;        // the file is in DAX state
  bool map_sync = false;   // a MAP_SHARED_VALIDATE|MAP_SYNC mapping works
};
[[nodiscard]] result<file_probe> probe_file(const std::filesystem::path& path);
[[nodiscard]] result<file_probe> probe_fd(int fd);

// ---- Mapping --------------------------------------------------------------
enum class fallback_reason { none, kernel_lacks_daxvm, not_dax, option_unsupported, fs_lacks_daxvm };
[[nodiscard]] const char* to_string(fallback_reason r) noexcept;

// How to map, as one bitmask with the values of C's enum daxvm_opt. The
// rules are checked, not implied: batching, ephemeral and no_msync need
// daxvm, private_copy excludes daxvm and sync; map() answers
// std::errc::invalid_argument otherwise (valid() tells beforehand).
// Options the running kernel's DaxVM lacks (by its uapi version) give
// errc::option_unsupported or, with fallback, are dropped without a trial
// mmap; fallback_reason says why.
enum class map_flags : unsigned {
  none = DAXVM_OPT_NONE,
  write = DAXVM_OPT_WRITE,            // PROT_WRITE: what writable_mapping::map sets
  daxvm = DAXVM_OPT_DAXVM,            // MAP_DAXVM: O(1) attach of prebuilt tables
  batching = DAXVM_OPT_BATCHING,      // MAP_DAXVM_BATCHING: deferred TLB flush on unmap
  ephemeral = DAXVM_OPT_EPHEMERAL,    // MAP_DAXVM_EPHEMERAL: per-process ephemeral heap
  populate = DAXVM_OPT_POPULATE,      // MAP_POPULATE
  sync = DAXVM_OPT_SYNC,              // MAP_SYNC: CPU-cache flush is enough for durability
  no_msync = DAXVM_OPT_NO_MSYNC,      // MAP_NO_MSYNC: sync() flushes from user space
  private_copy = DAXVM_OPT_PRIVATE,   // MAP_PRIVATE (no daxvm/sync)
  fallback = DAXVM_OPT_FALLBACK,      // drop what is unsupported, map anyway
};
[[nodiscard]] constexpr map_flags operator|(map_flags a, map_flags b) noexcept {
  return static_cast<map_flags>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
[[nodiscard]] constexpr map_flags operator&(map_flags a, map_flags b) noexcept {
  return static_cast<map_flags>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
[[nodiscard]] constexpr map_flags operator~(map_flags a) noexcept {
  return static_cast<map_flags>(~static_cast<unsigned>(a) & DAXVM_OPT_ALL);
}
constexpr map_flags& operator|=(map_flags& a, map_flags b) noexcept { return a = a | b; }
constexpr map_flags& operator&=(map_flags& a, map_flags b) noexcept { return a = a & b; }
// Whether f holds any of the flags in which.
[[nodiscard]] constexpr bool has(map_flags f, map_flags which) noexcept {
  return (f & which) != map_flags::none;
}
// Whether the combination is one map() accepts (see above).
[[nodiscard]] constexpr bool valid(map_flags f) noexcept {
  using enum map_flags;
  if ((static_cast<unsigned>(f) & ~unsigned{DAXVM_OPT_ALL}) != 0) return false;
  if (has(f, batching | ephemeral | no_msync) && !has(f, daxvm)) return false;
  return !(has(f, private_copy) && has(f, daxvm | sync));
}

// What to map and how: the same shape as C's struct daxvm_map_opts.
struct map_options {
  map_flags flags = map_flags::none;
  std::uint64_t offset = 0;  // file offset; must be page aligned
  std::size_t length = 0;    // 0 = up to end of file
};

// Options for short-lived read-only mappings (web server, text search).
[[nodiscard]] map_options ephemeral_options();

// A move-only, read-only file mapping: bytes() is all it offers, so a write
// through it does not compile (writable_mapping below can be written).
// The destructor unmaps and never msyncs or throws.
class mapping {
 public:
  mapping() noexcept = default;
  mapping(mapping&& other) noexcept;
  mapping& operator=(mapping&& other) noexcept;
  mapping(const mapping&) = delete;
  mapping& operator=(const mapping&) = delete;
  ~mapping();

  // opts.flags must not hold map_flags::write (EINVAL): use writable_mapping.
  [[nodiscard]] static result<mapping> map(const std::filesystem::path& path,
                                           const map_options& opts = {});
  // fd stays owned by the caller.
  [[nodiscard]] static result<mapping> map(int fd, const map_options& opts = {});

  bool mapped() const noexcept { return addr_ != nullptr; }
  bool writable() const noexcept { return writable_; }
  std::size_t size() const noexcept { return len_; }
  std::uint64_t offset() const noexcept { return off_; }
  int mmap_flags() const noexcept { return flags_; }  // flags really used
  fallback_reason fallback() const noexcept { return reason_; }

  std::span<const std::byte> bytes() const noexcept {
    return {static_cast<const std::byte*>(addr_), len_};
  }

  // Make [offset, offset+length) of the mapping durable: msync(MS_SYNC) on
  // the page-aligned covering range, or cache-line flushes for no_msync.
  [[nodiscard]] std::error_code sync() noexcept;
  [[nodiscard]] std::error_code sync(std::size_t offset, std::size_t length) noexcept;
  // Unmap now and report munmap errors; the mapping becomes empty.
  [[nodiscard]] std::error_code unmap() noexcept;

 protected:
  // Either access; map_flags::write decides.
  static result<mapping> map_any(const std::filesystem::path& path, const map_options& opts);
  static result<mapping> map_any(int fd, const map_options& opts);
  void* address() const noexcept { return addr_; }

 private:
  void* addr_ = nullptr;
  std::size_t len_ = 0;
  std::uint64_t off_ = 0;
  int flags_ = 0;
  bool writable_ = false;
  bool user_flush_ = false;
  fallback_reason reason_ = fallback_reason::none;
};

// A writable file mapping (PROT_WRITE; with private_copy, copy-on-write).
// Also readable: it is a mapping with writable_bytes().
class writable_mapping : public mapping {
 public:
  writable_mapping() noexcept = default;

  // map_flags::write is implied; the file must be open for writing.
  [[nodiscard]] static result<writable_mapping> map(const std::filesystem::path& path,
                                                    map_options opts = {});
  [[nodiscard]] static result<writable_mapping> map(int fd, map_options opts = {});

  [[nodiscard]] std::span<std::byte> writable_bytes() noexcept {
    return {static_cast<std::byte*>(address()), size()};
  }

 private:
  explicit writable_mapping(mapping&& m) noexcept : mapping(std::move(m)) {}
};

// Write back CPU cache lines covering the range (clwb/clflushopt/clflush +
// sfence). What durability needs on a MAP_SYNC or no_msync mapping.
void flush_cpu_caches(const void* addr, std::size_t length) noexcept;

// Open, map, hand the bytes to fn, unmap, close. An empty file gives fn an
// empty span. Returns the mapping error, if any; fn's result is ignored.
template <class F>
[[nodiscard]] std::error_code with_file(const std::filesystem::path& path, F&& fn,
                          const map_options& opts = ephemeral_options()) {
  auto m = mapping::map(path, opts);
  if (!m) {
    if (m.error() == errc::empty_file) {
      std::forward<F>(fn)(std::span<const std::byte>{});
      return {};
    }
    return m.error();
  }
  std::forward<F>(fn)(m->bytes());
  return m->unmap();
}

// ---- Control: knobs and syscalls -------------------------------------------
enum class knob {
  page_tables_on,    // per mount, rw 0/1
  kbytes_occupied,   // per mount, ro
  zeroout_blocks,    // per mount, rw 0/1
  prezero,           // per mount, rw 0/1
  prezeroed_blocks,  // per mount, ro
  msync,             // global /proc/fs/daxvm/daxvm_msync, rw 0/1
  zombie_max_pages,  // global /proc/sys/vm/zombie_max_pages, rw number
  tables_in_pmem,    // per mount, rw 0/1: file tables in PMem blocks (else DRAM)
};
// The enumerator's name ("page_tables_on", ...; "unknown" if out of range)
// and back (exact names only), for command lines and config files.
[[nodiscard]] const char* to_string(knob k) noexcept;
[[nodiscard]] std::optional<knob> knob_from_string(std::string_view name) noexcept;
// Every knob, in enum order (for tools that list or record them all).
[[nodiscard]] std::span<const knob> all_knobs() noexcept;

// Knobs under /proc/fs/daxvm, /proc/sys/vm, /proc/fs/ext4/<dev>; the
// device of a path from /sys and /proc/self/mountinfo.
class control {
 public:
  [[nodiscard]] result<int> version() const { return kernel_version(); }
  [[nodiscard]] bool has_daxvm() const { return kernel_has_daxvm(); }

  // Block device name (e.g. "pmem0") of the file system holding path.
  [[nodiscard]] result<std::string> device_for(const std::filesystem::path& path) const;

  // dev is ignored for global knobs.
  [[nodiscard]] result<std::uint64_t> get(knob k, std::string_view dev = {}) const;
  [[nodiscard]] std::error_code set(knob k, std::uint64_t value,
                      std::string_view dev = {}) const;
  std::filesystem::path knob_path(knob k, std::string_view dev = {}) const;  // empty: bad k

  // Syscalls: errc::kernel_lacks_daxvm unless the probe finds DaxVM,
  // errc::option_unsupported if this DaxVM lacks the call (version < 2 for
  // flush_zombies; no kernel has migrate_tables yet), else the errno.
  [[nodiscard]] std::error_code migrate_tables(pid_t pid = 0,
                                 unsigned flags = DAXVM_MIGRATE_TO_DRAM) const;
  // Unmap this process's batched (MAP_DAXVM_BATCHING) unmaps now.
  [[nodiscard]] std::error_code flush_zombies(unsigned flags = 0) const;
};

}  // namespace daxvm
