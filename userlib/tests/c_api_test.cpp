// Runs the ISO C checks in c_api_check.c; a non-zero result is the line
// of c_api_check.c whose check failed.
#include <daxvm/daxvm.h>

#include "c_api_check.h"
#include "test_seam.hpp"
#include "test_util.hpp"

using testutil::temp_dir;

TEST(CApi, MapReadSyncUnmap) {
  temp_dir d;
  const std::string content = testutil::pattern(5000);
  testutil::write_file(d / "f", content);
  EXPECT_EQ(c_map_read_sync((d / "f").c_str(), content.data(), content.size()), 0);
  EXPECT_EQ(testutil::read_file(d / "f")[0], 'C');  // the write reached the file
}

TEST(CApi, ErrorsAreNegativeAndTyped) {
  temp_dir d;
  testutil::write_file(d / "empty", "");
  testutil::write_file(d / "f", "content");
  EXPECT_EQ(c_errors((d / "empty").c_str(), (d / "f").c_str()), 0);
}

TEST(CApi, WithoutDaxvmKernel) {
  if (std::filesystem::exists("/proc/fs/daxvm/version")) GTEST_SKIP() << "DaxVM kernel";
  EXPECT_EQ(c_no_kernel(), 0);
}

TEST(CApi, KnobsOnFakeProc) {
  temp_dir proc;
  testutil::write_file(proc / "fs/daxvm/version", "2\n");
  testutil::write_file(proc / "sys/vm/zombie_max_pages", "33\n");
  testutil::write_file(proc / "fs/ext4/pmem0/daxvm_page_tables_on", "0\n");
  testutil::write_file(proc / "fs/ext4/pmem0/daxvm_kbytes_occupied", "8\n");
  daxvm::detail::scoped_roots fake(proc.path());
  EXPECT_EQ(c_knobs(), 0);
}

TEST(CApi, DeviceForPath) {
  temp_dir d;
  EXPECT_EQ(c_device(d.path().c_str()), 0);
}
