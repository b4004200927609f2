// The library's only test seam: where it reads /proc and /sys. Not an
// installed header; the tests include it from src/ to point the library
// at fake trees. Not thread safe: tests swap roots around single calls.
#pragma once

#include <filesystem>

namespace daxvm::detail {

struct fs_roots {
  std::filesystem::path proc = "/proc";
  std::filesystem::path sys = "/sys";
};

// The roots in use: "/proc" and "/sys" unless the environment names
// others in DAXVM_PROC_ROOT and DAXVM_SYS_ROOT (tests of whole programs).
const fs_roots& roots() noexcept;

// Points the library at other roots for the lifetime of the object.
class scoped_roots {
 public:
  explicit scoped_roots(std::filesystem::path proc, std::filesystem::path sys = "/sys");
  ~scoped_roots();
  scoped_roots(const scoped_roots&) = delete;
  scoped_roots& operator=(const scoped_roots&) = delete;

 private:
  fs_roots saved_;
};

}  // namespace daxvm::detail
