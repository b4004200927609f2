// Write + sync: store TEXT at the start of FILE through a mapping and make
// it durable. The file is created and grown as needed.
//   daxvm-write FILE TEXT
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include <daxvm/daxvm.hpp>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s FILE TEXT\n", argv[0]);
    return 2;
  }
  const std::size_t len = std::strlen(argv[2]);
  int fd = ::open(argv[1], O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 ||
      (st.st_size < static_cast<off_t>(len) && ::ftruncate(fd, static_cast<off_t>(len)) != 0)) {
    std::perror(argv[1]);
    return 1;
  }
  // sync: on DAX, page faults keep metadata durable.
  using F = daxvm::map_flags;
  const daxvm::map_options opts{.flags = F::daxvm | F::sync | F::fallback,
                                .length = len};
  auto m = daxvm::writable_mapping::map(fd, opts);
  ::close(fd);  // the mapping keeps the file alive
  if (!m) {
    std::fprintf(stderr, "%s: %s\n", argv[1], m.error().message().c_str());
    return 1;
  }
  std::memcpy(m->writable_bytes().data(), argv[2], len);
  if (auto ec = m->sync()) {
    std::fprintf(stderr, "sync: %s\n", ec.message().c_str());
    return 1;
  }
  const auto reason = m->fallback();
  if (auto ec = m->unmap()) {
    std::fprintf(stderr, "unmap: %s\n", ec.message().c_str());
    return 1;
  }
  std::printf("wrote %zu bytes (fallback=%s)\n", len, daxvm::to_string(reason));
  return 0;
}
