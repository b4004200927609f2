// Error category for conditions that have no errno.
#include <cerrno>

#include "internal.hpp"

namespace daxvm {
namespace {

class category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "daxvm"; }

  std::string message(int v) const override { return detail::errc_message(static_cast<errc>(v)); }

  // Let callers that only know errno-style conditions still match.
  std::error_condition default_error_condition(int v) const noexcept override {
    switch (static_cast<errc>(v)) {
      case errc::kernel_lacks_daxvm: return std::errc::function_not_supported;
      case errc::not_dax:
      case errc::option_unsupported:
      case errc::fs_lacks_daxvm: return std::errc::operation_not_supported;
      case errc::knob_unavailable: return std::errc::no_such_file_or_directory;
      case errc::knob_read_only: return std::errc::read_only_file_system;
      case errc::empty_file:
      case errc::unaligned_offset:
      case errc::range_beyond_eof:
      case errc::bad_knob_value: return std::errc::invalid_argument;
    }
    return {v, *this};
  }
};

}  // namespace

const char* detail::errc_message(errc e) noexcept {
  switch (e) {
    case errc::kernel_lacks_daxvm: return "kernel lacks DaxVM";
    case errc::not_dax: return "file is not on a DAX mount";
    case errc::empty_file: return "file is empty";
    case errc::unaligned_offset: return "offset is not page aligned";
    case errc::range_beyond_eof: return "range extends beyond end of file";
    case errc::knob_unavailable: return "DaxVM knob not present";
    case errc::bad_knob_value: return "invalid DaxVM knob value";
    case errc::knob_read_only: return "DaxVM knob is read-only";
    case errc::option_unsupported: return "this kernel's DaxVM does not support a requested option";
    case errc::fs_lacks_daxvm: return "the file's DAX file system does not support DaxVM";
  }
  return "unknown daxvm error";
}

const std::error_category& category() noexcept {
  static const category_impl instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

}  // namespace daxvm
