// Built against an installed libdaxvm via find_package(daxvm).
#include <cstdio>

#include <daxvm/daxvm.hpp>

int main() {
  auto m = daxvm::mapping::map("/nonexistent");
  if (m || m.error() != std::errc::no_such_file_or_directory) return 1;
  std::printf("cmake consumer ok (uapi %d)\n", daxvm::uapi_version);
  return 0;
}
