// Simple map + read: print the size, what DaxVM did, and a checksum.
//   daxvm-read FILE [OFFSET [LENGTH]]
#include <cstdio>
#include <cstdlib>

#include <daxvm/daxvm.hpp>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: %s FILE [OFFSET [LENGTH]]\n", argv[0]);
    return 2;
  }
  // O(1) attach where supported, plain mmap elsewhere.
  daxvm::map_options opts{.flags = daxvm::map_flags::daxvm | daxvm::map_flags::fallback};
  if (argc > 2) opts.offset = std::strtoull(argv[2], nullptr, 0);
  if (argc > 3) opts.length = std::strtoull(argv[3], nullptr, 0);

  auto m = daxvm::mapping::map(argv[1], opts);
  if (!m) {
    std::fprintf(stderr, "%s: %s\n", argv[1], m.error().message().c_str());
    return 1;
  }
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a over the mapped bytes
  for (std::byte b : m->bytes()) h = (h ^ std::to_integer<unsigned>(b)) * 1099511628211ull;
  std::printf("mapped %zu bytes at offset %llu, fallback=%s, fnv1a=%016llx\n", m->size(),
              static_cast<unsigned long long>(m->offset()), daxvm::to_string(m->fallback()),
              static_cast<unsigned long long>(h));
  return 0;
}
