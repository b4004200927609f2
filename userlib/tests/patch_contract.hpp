// Reads the kernel contract out of the DaxVM patch series: the #defines
// added to include/uapi/linux/daxvm.h and the syscall_64.tbl lines.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace contract {

struct syscall_entry {
  long number = -1;
  std::string abi, entry;
};

struct kernel_contract {
  std::vector<std::string> uapi_patches;         // patches that add the header
  std::map<std::string, std::uint64_t> defines;  // NAME -> value
  std::map<std::string, syscall_entry> syscalls; // name -> entry
};

inline const char* uapi_file = "include/uapi/linux/daxvm.h";
inline const char* tbl_file = "arch/x86/entry/syscalls/syscall_64.tbl";

// Adds what one patch's '+' lines say about the two files. Later patches
// override earlier ones, as they would when applied in order.
inline void parse_patch(const std::string& text, const std::string& name, kernel_contract& out) {
  std::istringstream in(text);
  std::string line, current;
  bool added_header = false;
  for (std::string prev; std::getline(in, line); prev = line) {
    if (line.rfind("+++ ", 0) == 0) {
      current = line.substr(4);
      if (current.rfind("b/", 0) == 0) current = current.substr(2);
      // "--- /dev/null" before it means the patch creates the file.
      if (current == uapi_file && prev == "--- /dev/null") added_header = true;
      continue;
    }
    if (line.rfind("diff ", 0) == 0) current.clear();
    if (line.empty() || line[0] != '+') continue;
    std::istringstream f(line.substr(1));
    if (current == uapi_file) {
      std::string hash, key, value;
      f >> hash;
      if (hash == "#define" && f >> key >> value && key.find('(') == std::string::npos) {
        char* end = nullptr;
        std::uint64_t v = std::strtoull(value.c_str(), &end, 0);
        while (*end == 'u' || *end == 'U' || *end == 'l' || *end == 'L') ++end;
        if (end != value.c_str() && *end == '\0') out.defines[key] = v;
      }
    } else if (current == tbl_file) {
      syscall_entry e;
      std::string sname;
      if (f >> e.number >> e.abi >> sname) {
        f >> e.entry;
        out.syscalls[sname] = e;
      }
    }
  }
  if (added_header) out.uapi_patches.push_back(name);
}

inline kernel_contract parse_dir(const std::filesystem::path& dir) {
  kernel_contract c;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return c;
  std::vector<std::filesystem::path> patches, rest;
  // Apply order: the quilt-style "series" file first, then any other
  // *.patch by name (0001-, 0002-, ...).
  std::ifstream series(dir / "series");
  for (std::string line; std::getline(series, line);) {
    std::istringstream f(line);
    std::string name;
    if (f >> name && name[0] != '#' && std::filesystem::is_regular_file(dir / name, ec))
      patches.push_back(dir / name);
  }
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".patch" &&
        std::find(patches.begin(), patches.end(), e.path()) == patches.end())
      rest.push_back(e.path());
  std::sort(rest.begin(), rest.end());
  patches.insert(patches.end(), rest.begin(), rest.end());
  for (const auto& p : patches) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    parse_patch(s.str(), p.filename().string(), c);
  }
  return c;
}

}  // namespace contract
