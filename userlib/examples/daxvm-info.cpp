// Print what DaxVM support this kernel and a path have, as JSON.
//   daxvm-info [PATH]     (PATH defaults to ".")
#include <cstdio>
#include <string>

#include <daxvm/daxvm.hpp>

namespace {

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A knob value or null, with the reason when null.
std::string knob_json(const daxvm::control& c, daxvm::knob k, const std::string& dev) {
  auto v = c.get(k, dev);
  if (v) return std::to_string(*v);
  return "{\"error\": " + quote(v.error().message()) + "}";
}

const char* b(bool v) { return v ? "true" : "false"; }

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : ".";
  daxvm::control c;
  auto version = c.version();
  auto probe = daxvm::probe_file(path);
  auto dev = c.device_for(path);
  const std::string devname = dev ? *dev : "";

  std::printf("{\n  \"kernel\": {\"daxvm\": %s, \"uapi_version\": %s, \"library_uapi_version\": %d},\n",
              b(version.has_value()), version ? std::to_string(*version).c_str() : "null",
              daxvm::uapi_version);
  std::printf("  \"path\": %s,\n", quote(path).c_str());
  if (probe)
    std::printf("  \"file\": {\"dax_known\": %s, \"dax\": %s, \"map_sync\": %s},\n",
                b(probe->dax_known), b(probe->dax), b(probe->map_sync));
  else
    std::printf("  \"file\": {\"error\": %s},\n", quote(probe.error().message()).c_str());
  if (dev)
    std::printf("  \"device\": %s,\n", quote(devname).c_str());
  else  // e.g. tmpfs: no block device, so no per-mount knobs
    std::printf("  \"device\": null, \"device_error\": %s,\n", quote(dev.error().message()).c_str());
  std::printf("  \"knobs\": {\n");
  std::printf("    \"daxvm_msync\": %s,\n", knob_json(c, daxvm::knob::msync, "").c_str());
  std::printf("    \"zombie_max_pages\": %s", knob_json(c, daxvm::knob::zombie_max_pages, "").c_str());
  if (dev) {
    const std::pair<const char*, daxvm::knob> per_mount[] = {
        {"daxvm_page_tables_on", daxvm::knob::page_tables_on},
        {"daxvm_kbytes_occupied", daxvm::knob::kbytes_occupied},
        {"daxvm_zeroout_blocks", daxvm::knob::zeroout_blocks},
        {"daxvm_prezero", daxvm::knob::prezero},
        {"daxvm_prezeroed_blocks", daxvm::knob::prezeroed_blocks},
        {"daxvm_tables_in_pmem", daxvm::knob::tables_in_pmem}};
    for (auto& [name, k] : per_mount)
      std::printf(",\n    \"%s\": %s", name, knob_json(c, k, devname).c_str());
  }
  std::printf("\n  }\n}\n");
  return 0;
}
