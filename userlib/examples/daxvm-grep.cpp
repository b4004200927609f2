// Ephemeral text search: map each file briefly, print matching lines.
//   daxvm-grep PATTERN FILE...      (exit 0 if any match, 1 if none, 2 on error)
#include <cstdio>
#include <string_view>

#include <daxvm/daxvm.hpp>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s PATTERN FILE...\n", argv[0]);
    return 2;
  }
  const std::string_view pattern = argv[1];
  bool matched = false, failed = false;
  for (int i = 2; i < argc; ++i) {
    auto ec = daxvm::with_file(argv[i], [&](std::span<const std::byte> data) {
      std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
      std::size_t lineno = 1;
      while (!text.empty()) {
        auto nl = text.find('\n');
        auto line = text.substr(0, nl);
        if (line.find(pattern) != line.npos) {
          matched = true;
          std::printf("%s:%zu:%.*s\n", argv[i], lineno, static_cast<int>(line.size()),
                      line.data());
        }
        if (nl == text.npos) break;
        text.remove_prefix(nl + 1);
        ++lineno;
      }
    });
    if (ec) {
      std::fprintf(stderr, "%s: %s\n", argv[i], ec.message().c_str());
      failed = true;
    }
  }
  return failed ? 2 : matched ? 0 : 1;
}
