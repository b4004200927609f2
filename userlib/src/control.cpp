// Knobs (proc files) and the two DaxVM syscalls.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <iterator>
#include <sstream>

#include "internal.hpp"
#include "test_seam.hpp"

namespace daxvm {
namespace {

struct knob_info {
  const char* id;    // to_string(knob): the enumerator's name
  const char* name;  // the proc file
  bool per_mount;
  bool writable;
  bool boolean;
};

// In enum order.
constexpr knob_info knob_table[] = {
    {"page_tables_on", "daxvm_page_tables_on", true, true, true},
    {"kbytes_occupied", "daxvm_kbytes_occupied", true, false, false},
    {"zeroout_blocks", "daxvm_zeroout_blocks", true, true, true},
    {"prezero", "daxvm_prezero", true, true, true},
    {"prezeroed_blocks", "daxvm_prezeroed_blocks", true, false, false},
    {"msync", "daxvm_msync", false, true, true},
    {"zombie_max_pages", "zombie_max_pages", false, true, false},
    {"tables_in_pmem", "daxvm_tables_in_pmem", true, true, true},
};
constexpr std::size_t knob_count = std::size(knob_table);
static_assert(static_cast<std::size_t>(knob::tables_in_pmem) + 1 == knob_count);

// A knob cast from an out-of-range integer must not index past the table.
bool known(knob k) noexcept { return static_cast<std::size_t>(k) < knob_count; }

const knob_info& info(knob k) noexcept { return knob_table[static_cast<int>(k)]; }

// A device name is one path component; anything else could escape proc.
bool valid_dev(std::string_view dev) noexcept {
  return !dev.empty() && dev != "." && dev != ".." && dev.find('/') == dev.npos &&
         dev.find('\0') == dev.npos;
}

}  // namespace

const char* to_string(knob k) noexcept {
  const auto i = static_cast<std::size_t>(k);
  return i < knob_count ? knob_table[i].id : "unknown";
}

std::optional<knob> knob_from_string(std::string_view name) noexcept {
  for (std::size_t i = 0; i < knob_count; ++i)
    if (name == knob_table[i].id) return static_cast<knob>(i);
  return std::nullopt;
}

std::span<const knob> all_knobs() noexcept {
  static constexpr auto all = [] {
    std::array<knob, knob_count> a{};
    for (std::size_t i = 0; i < knob_count; ++i) a[i] = static_cast<knob>(i);
    return a;
  }();
  return all;
}

std::filesystem::path control::knob_path(knob k, std::string_view dev) const {
  if (!known(k)) return {};
  const auto& i = info(k);
  const auto& proc = detail::roots().proc;
  if (k == knob::msync) return proc / "fs/daxvm" / i.name;
  if (k == knob::zombie_max_pages) return proc / "sys/vm" / i.name;
  return proc / "fs/ext4" / std::string(dev) / i.name;
}

// Map "knob file missing" to the most useful reason.
static std::error_code missing_knob(const control& c, const std::filesystem::path& proc,
                                    knob k, std::string_view dev) {
  if (!c.has_daxvm()) return errc::kernel_lacks_daxvm;
  std::error_code ignored;
  if (info(k).per_mount && !std::filesystem::exists(proc / "fs/ext4" / std::string(dev), ignored))
    return std::make_error_code(std::errc::no_such_device);  // no such ext4 mount
  return errc::knob_unavailable;
}

static bool is_missing(std::error_code ec) {
  return ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory;
}

result<std::uint64_t> control::get(knob k, std::string_view dev) const {
  if (!known(k)) return fail(std::errc::invalid_argument);
  const auto& i = info(k);
  if (i.per_mount && !valid_dev(dev)) return fail(std::errc::invalid_argument);
  auto text = detail::read_text(knob_path(k, dev));
  if (!text) return fail(is_missing(text.error()) ? missing_knob(*this, detail::roots().proc, k, dev) : text.error());
  std::uint64_t v = 0;
  if (!detail::parse_u64(*text, v) || (i.boolean && v > 1)) return fail(errc::bad_knob_value);
  return v;
}

std::error_code control::set(knob k, std::uint64_t value, std::string_view dev) const {
  if (!known(k)) return std::make_error_code(std::errc::invalid_argument);
  const auto& i = info(k);
  if (!i.writable) return errc::knob_read_only;
  if (i.boolean && value > 1) return errc::bad_knob_value;
  if (i.per_mount && !valid_dev(dev)) return std::make_error_code(std::errc::invalid_argument);
  int fd = ::open(knob_path(k, dev).c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    auto ec = detail::last_errno();
    return is_missing(ec) ? missing_knob(*this, detail::roots().proc, k, dev) : ec;
  }
  const std::string text = std::to_string(value) + "\n";
  ssize_t n = ::write(fd, text.data(), text.size());  // the kernel parses one write
  std::error_code ec;
  if (n < 0) ec = detail::last_errno();
  else if (static_cast<std::size_t>(n) != text.size()) ec = std::make_error_code(std::errc::io_error);
  // Proc files report size 0; a plain file (a test's fake knob) must not
  // keep stale trailing bytes from a longer old value.
  struct stat st {};
  if (!ec && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      st.st_size > static_cast<off_t>(text.size()))
    (void)!::ftruncate(fd, static_cast<off_t>(text.size()));
  ::close(fd);
  return ec;
}

result<std::string> control::device_for(const std::filesystem::path& path) const {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(detail::last_errno());
  const std::string majmin =
      std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));

  // 1) sysfs knows block devices by number.
  if (auto ev = detail::read_text(detail::roots().sys / "dev/block" / majmin / "uevent")) {
    std::istringstream in(*ev);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("DEVNAME=", 0) == 0) return line.substr(8);
  }
  // 2) mountinfo: "id parent MAJ:MIN root mnt opts [tags] - fstype source ..."
  if (auto mi = detail::read_text(detail::roots().proc / "self/mountinfo")) {
    std::istringstream in(*mi);
    for (std::string line; std::getline(in, line);) {
      std::istringstream f(line);
      std::string id, parent, mm, tok;
      f >> id >> parent >> mm;
      if (mm != majmin) continue;
      while (f >> tok && tok != "-") {}
      std::string fstype, source;
      f >> fstype >> source;
      if (source.rfind("/dev/", 0) == 0) return source.substr(source.rfind('/') + 1);
    }
  }
  return fail(std::errc::no_such_device);  // e.g. tmpfs: not on a block device
}

// No kernel patch adds the migration syscall yet (tables live in DRAM).
std::error_code control::migrate_tables(pid_t pid, unsigned flags) const {
  (void)pid, (void)flags;
  if (!has_daxvm()) return errc::kernel_lacks_daxvm;
  return errc::option_unsupported;
}

std::error_code control::flush_zombies(unsigned flags) const {
  auto v = version();
  if (!v) return v.error();
#ifdef __NR_daxvm_flush_zombies
  // The number means something else on kernels without uapi version 2.
  if (*v < 2) return errc::option_unsupported;
  if (::syscall(__NR_daxvm_flush_zombies, flags) != 0) return detail::last_errno();
  return {};
#else
  (void)flags;
  return fail(errc::option_unsupported);
#endif
}

}  // namespace daxvm
