// Compiled (never linked) by ctest: writing through a read-only mapping
// must not compile, in either way a caller might try; the same write
// through a writable_mapping must (the control, so a broken snippet or
// include path cannot pass for a refused write).
#include <daxvm/daxvm.hpp>

#include <cstddef>

void write_first_byte() {
#if defined(WRITABLE)
  auto m = daxvm::writable_mapping::map("f");
  if (m) m->writable_bytes()[0] = std::byte{1};
#elif defined(VIA_WRITABLE_BYTES)
  auto m = daxvm::mapping::map("f");
  if (m) m->writable_bytes()[0] = std::byte{1};
#elif defined(VIA_BYTES)
  auto m = daxvm::mapping::map("f");
  if (m) m->bytes()[0] = std::byte{1};
#endif
}
