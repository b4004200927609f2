// One source of truth: <daxvm/daxvm.h> must carry exactly the values of the
// kernel patch series in ../kernel-patches/ (or $DAXVM_KERNEL_PATCH_DIR).
// Until the patch adding include/uapi/linux/daxvm.h lands this skips, or
// fails with DAXVM_REQUIRE_PATCH=1.
#include <algorithm>
#include <sys/mman.h>

#include <cstdlib>
#include <iostream>

#include <gtest/gtest.h>

#include <daxvm/daxvm.h>

#include "patch_contract.hpp"
#include "test_util.hpp"

#ifndef DAXVM_KERNEL_PATCH_DIR
#error "DAXVM_KERNEL_PATCH_DIR must point at kernel-patches/"
#endif

namespace {

std::string hex(std::uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

const std::map<std::string, std::uint64_t> library_defines = {
    {"DAXVM_UAPI_VERSION", DAXVM_UAPI_VERSION},
    {"MAP_DAXVM", MAP_DAXVM},
    {"MAP_DAXVM_BATCHING", MAP_DAXVM_BATCHING},
    {"MAP_DAXVM_EPHEMERAL", MAP_DAXVM_EPHEMERAL},
    {"MAP_NO_MSYNC", MAP_NO_MSYNC},
    {"DAXVM_MIGRATE_TO_DRAM", DAXVM_MIGRATE_TO_DRAM},
};

// daxvm_migrate_tables has no number yet: no kernel patch adds it.
const std::map<std::string, long> library_syscalls = {
    {"daxvm_flush_zombies", __NR_daxvm_flush_zombies},
};

// Every mismatch between the library and a parsed contract, as text.
std::vector<std::string> mismatches(const contract::kernel_contract& k) {
  std::vector<std::string> out;
  for (const auto& [name, value] : library_defines) {
    auto it = k.defines.find(name);
    if (it == k.defines.end())
      out.push_back(name + " is not defined (as a plain number) by the uapi patch");
    else if (it->second != value)
      out.push_back(name + ": library " + hex(value) + ", kernel " + hex(it->second));
  }
  for (const auto& [name, e] : k.syscalls)
    if (name.rfind("daxvm_", 0) == 0 && !library_syscalls.count(name))
      out.push_back(name + ": kernel " + std::to_string(e.number) + ", library has no number");
  for (const auto& [name, nr] : library_syscalls) {
    auto it = k.syscalls.find(name);
    if (it == k.syscalls.end()) {
      out.push_back(name + ": library " + std::to_string(nr) + ", not in the kernel");
      continue;
    }
    if (it->second.number != nr)
      out.push_back(name + ": library " + std::to_string(nr) + ", kernel " +
                    std::to_string(it->second.number));
    if (it->second.abi != "common" && it->second.abi != "64")
      out.push_back(name + ": abi " + it->second.abi);
    if (it->second.entry != "sys_" + name) out.push_back(name + ": entry " + it->second.entry);
  }
  return out;
}

const char* good_patch = R"(From 1 Mon Sep 17 00:00:00 2001
Subject: [PATCH 01/20] daxvm: uapi
---
diff --git a/arch/x86/entry/syscalls/syscall_64.tbl b/arch/x86/entry/syscalls/syscall_64.tbl
--- a/arch/x86/entry/syscalls/syscall_64.tbl
+++ b/arch/x86/entry/syscalls/syscall_64.tbl
@@ -372,6 +372,7 @@
 450	common	set_mempolicy_home_node	sys_set_mempolicy_home_node
+451	64	daxvm_flush_zombies	sys_daxvm_flush_zombies
diff --git a/include/uapi/linux/daxvm.h b/include/uapi/linux/daxvm.h
new file mode 100644
--- /dev/null
+++ b/include/uapi/linux/daxvm.h
@@ -0,0 +1,12 @@
+/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
+#ifndef _UAPI_LINUX_DAXVM_H
+#define _UAPI_LINUX_DAXVM_H
+#define DAXVM_UAPI_VERSION	2
+#define MAP_DAXVM		0x0400000	/* attach */
+#define MAP_DAXVM_BATCHING	0x0200000
+#define MAP_DAXVM_EPHEMERAL	0x0800000
+#define MAP_NO_MSYNC		0x1000000
+#define DAXVM_MIGRATE_TO_DRAM	0x1U
+#endif
diff --git a/mm/mmap.c b/mm/mmap.c
--- a/mm/mmap.c
+++ b/mm/mmap.c
+#define MAP_DAXVM 0x1
+451	common	bogus	sys_bogus
)";

}  // namespace

// The parser itself must find the values (and only in the right files).
TEST(UapiParser, ReadsDefinesAndSyscalls) {
  contract::kernel_contract k;
  contract::parse_patch(good_patch, "0001.patch", k);
  ASSERT_EQ(k.uapi_patches.size(), 1u);
  EXPECT_EQ(k.defines.at("MAP_DAXVM"), 0x400000u);  // not mm/mmap.c's 0x1
  EXPECT_EQ(k.defines.at("DAXVM_MIGRATE_TO_DRAM"), 1u);
  EXPECT_EQ(k.syscalls.at("daxvm_flush_zombies").number, 451);
  EXPECT_EQ(k.syscalls.count("bogus"), 0u);
  EXPECT_EQ(k.syscalls.count("set_mempolicy_home_node"), 0u);  // context line
  EXPECT_TRUE(mismatches(k).empty());
}

TEST(UapiParser, ReportsEveryKindOfMismatch) {
  std::string bad = good_patch;
  bad.replace(bad.find("0x0800000"), 9, "0x4000000");
  bad.replace(bad.find("451\t64"), 3, "453");
  bad.insert(bad.find("+453"), "+452\t64\tdaxvm_migrate_tables\tsys_daxvm_migrate_tables\n");
  bad.erase(bad.find("+#define MAP_NO_MSYNC"), bad.find("+#define DAXVM_MIGRATE") - bad.find("+#define MAP_NO_MSYNC"));
  contract::kernel_contract k;
  contract::parse_patch(bad, "0001.patch", k);
  auto m = mismatches(k);
  ASSERT_EQ(m.size(), 4u);
  auto has = [&](const std::string& s) {
    return std::any_of(m.begin(), m.end(), [&](auto& x) { return x.find(s) != x.npos; });
  };
  EXPECT_TRUE(has("MAP_DAXVM_EPHEMERAL"));
  EXPECT_TRUE(has("MAP_NO_MSYNC is not defined"));
  EXPECT_TRUE(has("daxvm_flush_zombies: library 451, kernel 453"));
  EXPECT_TRUE(has("daxvm_migrate_tables: kernel 452, library has no number"));
}

TEST(UapiParser, LaterPatchesInSeriesOrderWin) {
  testutil::temp_dir d;
  testutil::write_file(d / "0001-uapi.patch", good_patch);
  testutil::write_file(d / "0002-fix.patch",
                       "diff --git a/include/uapi/linux/daxvm.h b/include/uapi/linux/daxvm.h\n"
                       "--- a/include/uapi/linux/daxvm.h\n"
                       "+++ b/include/uapi/linux/daxvm.h\n"
                       "-#define MAP_NO_MSYNC\t\t0x1000000\n"
                       "+#define MAP_NO_MSYNC\t\t0x2000000\n");
  testutil::write_file(d / "notes.txt", "+#define MAP_DAXVM 0x1\n");
  auto k = contract::parse_dir(d.path());
  EXPECT_EQ(k.uapi_patches, std::vector<std::string>{"0001-uapi.patch"});
  EXPECT_EQ(k.defines.at("MAP_NO_MSYNC"), 0x2000000u);
  EXPECT_EQ(mismatches(k).size(), 1u);
  // A series file that lists 0002 first is applied in that order.
  testutil::write_file(d / "series", "# order\n0002-fix.patch\n0001-uapi.patch\n");
  k = contract::parse_dir(d.path());
  EXPECT_EQ(k.defines.at("MAP_NO_MSYNC"), 0x1000000u);
  EXPECT_TRUE(contract::parse_dir(d / "missing").uapi_patches.empty());
}

TEST(UapiContract, HeaderMatchesKernelPatch) {
  const char* env_dir = std::getenv("DAXVM_KERNEL_PATCH_DIR");  // e.g. a series under review
  const std::filesystem::path dir = env_dir && *env_dir ? env_dir : DAXVM_KERNEL_PATCH_DIR;
  auto k = contract::parse_dir(dir);
  if (k.uapi_patches.empty()) {
    const char* req = std::getenv("DAXVM_REQUIRE_PATCH");
    std::string msg = "no patch in " + dir.string() + " adds " + contract::uapi_file +
                      ": cannot check <daxvm/daxvm.h> against the kernel";
    if (req && std::string(req) == "1") FAIL() << msg << " (DAXVM_REQUIRE_PATCH=1)";
    GTEST_SKIP() << msg << " (set DAXVM_REQUIRE_PATCH=1 to fail instead)";
  }
  for (const auto& p : k.uapi_patches) std::cout << "uapi patch: " << p << "\n";
  for (const auto& m : mismatches(k)) ADD_FAILURE() << m;
  for (const auto& [name, value] : k.defines)
    if (name[0] != '_' && !library_defines.count(name))
      std::cout << "note: kernel defines " << name << " which <daxvm/daxvm.h> does not carry\n";
}

// Our flags must collide with no mmap flag of the kernel we build against.
TEST(UapiContract, FlagsCollideWithNothing) {
  const std::uint64_t ours[] = {MAP_DAXVM, MAP_DAXVM_BATCHING, MAP_DAXVM_EPHEMERAL, MAP_NO_MSYNC};
  std::uint64_t taken = MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_DENYWRITE |
                        MAP_EXECUTABLE | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE |
                        MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_SYNC |
                        MAP_FIXED_NOREPLACE | 0x4000000 /* MAP_UNINITIALIZED */ |
                        (std::uint64_t{0x3f} << 26) /* MAP_HUGE_* size bits */;
  std::uint64_t seen = 0;
  for (auto f : ours) {
    EXPECT_EQ(f & taken, 0u) << std::hex << f;
    EXPECT_EQ(f & seen, 0u) << std::hex << f;
    EXPECT_EQ(__builtin_popcountll(f), 1);
    seen |= f;
  }
}
