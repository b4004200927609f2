// Internal helpers shared by the library sources.
#pragma once

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>

#include <daxvm/daxvm.hpp>

namespace daxvm::detail {

inline std::error_code last_errno() noexcept {
  return {errno, std::generic_category()};
}

// Whole content of a small text file (proc/sysfs knobs).
result<std::string> read_text(const std::filesystem::path& p);

// Strict unsigned decimal with optional surrounding whitespace.
bool parse_u64(std::string_view text, std::uint64_t& out) noexcept;

// Static message for a library condition (usable from C).
const char* errc_message(errc e) noexcept;

// The DaxVM mmap flags a kernel of uapi @version accepts.
constexpr int kernel_map_flags(int version) noexcept {
  return (version >= 1 ? MAP_DAXVM | MAP_NO_MSYNC : 0) | (version >= 2 ? MAP_DAXVM_BATCHING : 0);
}

}  // namespace daxvm::detail
