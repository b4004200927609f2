// Thin C adapter over the C++ core. No exception crosses this boundary.
#include <cstring>
#include <new>
#include <optional>
#include <utility>

#include "internal.hpp"

struct daxvm_mapping {
  daxvm::mapping m;
};

namespace {

int to_c(std::error_code ec) noexcept {
  if (!ec) return 0;
  if (ec.category() == daxvm::category()) return -(DAXVM_EBASE + ec.value());
  if (ec.category() == std::generic_category() || ec.category() == std::system_category())
    return -ec.value();
  return -EIO;
}

// Runs f, turning any exception into a negative errno.
template <class F>
int guarded(F&& f) noexcept {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  } catch (const std::bad_expected_access<std::error_code>& e) {
    return to_c(e.error());
  } catch (const std::system_error& e) {
    return to_c(e.code());
  } catch (...) {
    return -EIO;
  }
}

daxvm::map_options to_options(const daxvm_map_opts* o) {
  if (!o) return {};
  return {.flags = static_cast<daxvm::map_flags>(o->flags), .offset = o->offset, .length = o->length};
}

// A C caller may pass any int as an enum daxvm_knob, while C++ gives that
// enum only the range of its enumerators: read the bits as an int (no
// enum load, which UBSan rightly flags) and check the range.
std::optional<daxvm::knob> from_c(const daxvm_knob& k) noexcept {
  static_assert(sizeof(daxvm_knob) == sizeof(int));
  int raw = 0;
  std::memcpy(&raw, &k, sizeof raw);
  if (raw < DAXVM_KNOB_PAGE_TABLES_ON || raw > DAXVM_KNOB_TABLES_IN_PMEM) return std::nullopt;
  return static_cast<daxvm::knob>(raw);
}

template <class Target>
int map_common(Target target, const daxvm_map_opts* opts, daxvm_mapping** out) noexcept {
  if (!out) return -EINVAL;
  *out = nullptr;
  return guarded([&] {
    const auto o = to_options(opts);
    // C has one mapping type: a writable_mapping is kept as its mapping part.
    if (has(o.flags, daxvm::map_flags::write)) {
      auto w = daxvm::writable_mapping::map(target, o);
      if (!w) return to_c(w.error());
      *out = new daxvm_mapping{std::move(*w)};
      return 0;
    }
    auto r = daxvm::mapping::map(target, o);
    if (!r) return to_c(r.error());
    *out = new daxvm_mapping{std::move(*r)};
    return 0;
  });
}

}  // namespace

extern "C" {

int daxvm_map(const char* path, const daxvm_map_opts* opts, daxvm_mapping** out) noexcept {
  if (!path) return -EINVAL;
  return map_common(path, opts, out);  // becomes a path inside the try block
}

int daxvm_map_fd(int fd, const daxvm_map_opts* opts, daxvm_mapping** out) noexcept {
  return map_common(fd, opts, out);
}

void* daxvm_mapping_addr(const daxvm_mapping* m) noexcept {
  return m ? const_cast<std::byte*>(m->m.bytes().data()) : nullptr;
}

size_t daxvm_mapping_size(const daxvm_mapping* m) noexcept { return m ? m->m.size() : 0; }

daxvm_fallback_reason daxvm_mapping_fallback(const daxvm_mapping* m) noexcept {
  if (!m) return DAXVM_FALLBACK_NONE;
  switch (m->m.fallback()) {
    case daxvm::fallback_reason::none: return DAXVM_FALLBACK_NONE;
    case daxvm::fallback_reason::kernel_lacks_daxvm: return DAXVM_FALLBACK_NO_KERNEL;
    case daxvm::fallback_reason::not_dax: return DAXVM_FALLBACK_NOT_DAX;
    case daxvm::fallback_reason::option_unsupported: return DAXVM_FALLBACK_OPTION;
    case daxvm::fallback_reason::fs_lacks_daxvm: return DAXVM_FALLBACK_NO_FS;
  }
  return DAXVM_FALLBACK_NONE;
}

int daxvm_sync(daxvm_mapping* m, size_t offset, size_t length) noexcept {
  if (!m) return -EINVAL;
  if (length == 0) {
    if (offset > m->m.size()) return -EINVAL;
    length = m->m.size() - offset;
  }
  return to_c(m->m.sync(offset, length));
}

int daxvm_unmap(daxvm_mapping** m) noexcept {
  if (!m || !*m) return -EINVAL;
  int rc = to_c((*m)->m.unmap());
  delete std::exchange(*m, nullptr);  // the destructor retries munmap if unmap failed
  return rc;
}

int daxvm_probe_kernel() noexcept {
  return guarded([&] {
    auto v = daxvm::kernel_version();
    return v ? *v : to_c(v.error());
  });
}

int daxvm_probe_dax(const char* path) noexcept {
  if (!path) return -EINVAL;
  return guarded([&] {
    auto p = daxvm::probe_file(path);
    return p ? int(p->dax) : to_c(p.error());
  });
}

int daxvm_probe_map_sync(const char* path) noexcept {
  if (!path) return -EINVAL;
  return guarded([&] {
    auto p = daxvm::probe_file(path);
    return p ? int(p->map_sync) : to_c(p.error());
  });
}

int daxvm_knob_get(daxvm_knob knob, const char* dev, uint64_t* value) noexcept {
  const auto k = from_c(knob);
  if (!value || !k) return -EINVAL;
  return guarded([&] {
    const daxvm::control c;
    auto v = c.get(*k, dev ? dev : "");
    if (!v) return to_c(v.error());
    *value = *v;
    return 0;
  });
}

int daxvm_knob_set(daxvm_knob knob, const char* dev, uint64_t value) noexcept {
  const auto k = from_c(knob);
  if (!k) return -EINVAL;
  return guarded([&] {
    const daxvm::control c;
    return to_c(c.set(*k, value, dev ? dev : ""));
  });
}

int daxvm_device_for_path(const char* path, char* buf, size_t buflen) noexcept {
  if (!path || !buf) return -EINVAL;
  return guarded([&] {
    auto d = daxvm::control{}.device_for(path);
    if (!d) return to_c(d.error());
    if (d->size() + 1 > buflen) return -ERANGE;
    std::memcpy(buf, d->c_str(), d->size() + 1);
    return 0;
  });
}

int daxvm_migrate_tables(pid_t pid, unsigned int flags) noexcept {
  return guarded([&] { return to_c(daxvm::control{}.migrate_tables(pid, flags)); });
}

int daxvm_flush_zombies(unsigned int flags) noexcept {
  return guarded([&] { return to_c(daxvm::control{}.flush_zombies(flags)); });
}

const char* daxvm_strerror(int err) noexcept {
  if (err < 0) err = -err;
  if (err == 0) return "Success";
  if (err > DAXVM_EBASE && err <= DAXVM_ENOFSSUP)
    return daxvm::detail::errc_message(static_cast<daxvm::errc>(err - DAXVM_EBASE));
  const char* s = ::strerrordesc_np(err);
  return s ? s : "Unknown error";
}

}  // extern "C"
