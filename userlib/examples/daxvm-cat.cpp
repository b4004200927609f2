// Static-file serving, the web-server case: map each file briefly with
// ephemeral_options() and write(2) it to stdout straight from the mapping.
//   daxvm-cat FILE...      (exit 0 if all were copied, 1 otherwise)
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <daxvm/daxvm.hpp>

namespace {

// write(2) all of data; returns 0 or an errno value.
int write_all(int fd, std::span<const std::byte> data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE...\n", argv[0]);
    return 2;
  }
  // Read-only, MAP_DAXVM with batching (and the ephemeral heap once a
  // kernel has it), plain mmap where the kernel or file lacks DaxVM.
  const daxvm::map_options opts = daxvm::ephemeral_options();
  int status = 0;
  for (int i = 1; i < argc; ++i) {
    int werr = 0;
    auto ec = daxvm::with_file(
        argv[i], [&](std::span<const std::byte> data) { werr = write_all(STDOUT_FILENO, data); },
        opts);
    if (ec) {
      std::fprintf(stderr, "%s: %s\n", argv[i], ec.message().c_str());
      status = 1;
    } else if (werr) {
      // stdout is gone or full: the remaining files cannot go anywhere.
      std::fprintf(stderr, "%s: write: %s\n", argv[i], std::strerror(werr));
      return 1;
    }
  }
  // Batched unmaps leave zombie mappings behind; a server would flush them
  // now and then. Without DaxVM (or before uapi version 2) there are none.
  auto ec = daxvm::control{}.flush_zombies();
  if (ec && ec != daxvm::errc::kernel_lacks_daxvm && ec != daxvm::errc::option_unsupported) {
    std::fprintf(stderr, "flush_zombies: %s\n", ec.message().c_str());
    status = 1;
  }
  return status;
}
