// Host tests for the capability probe and the control API (knobs,
// device lookup, syscall wrappers). Fake proc/sys roots exercise parsing.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <daxvm/daxvm.hpp>

#include <optional>

#include "test_seam.hpp"
#include "test_util.hpp"

using daxvm::control;
using daxvm::errc;
using daxvm::knob;
using testutil::temp_dir;

namespace {

bool real_daxvm() { return std::filesystem::exists("/proc/fs/daxvm/version"); }

// A proc tree as a DaxVM kernel with one ext4 DAX mount "pmem0" shows it.
struct fake_proc {
  temp_dir root;
  std::optional<daxvm::detail::scoped_roots> roots;  // set once the tree exists
  fake_proc() {
    testutil::write_file(root / "fs/daxvm/version", "1\n");
    testutil::write_file(root / "fs/daxvm/daxvm_msync", "1\n");
    testutil::write_file(root / "sys/vm/zombie_max_pages", "33\n");
    testutil::write_file(root / "fs/ext4/pmem0/daxvm_page_tables_on", "0\n");
    testutil::write_file(root / "fs/ext4/pmem0/daxvm_kbytes_occupied", "1234\n");
    testutil::write_file(root / "fs/ext4/pmem0/daxvm_zeroout_blocks", "1\n");
    testutil::write_file(root / "fs/ext4/pmem0/daxvm_prezero", "0\n");
    testutil::write_file(root / "fs/ext4/pmem0/daxvm_prezeroed_blocks", "77\n");
    testutil::write_file(root / "fs/ext4/pmem0/daxvm_tables_in_pmem", "1\n");
    roots.emplace(root.path());
  }
  control ctl() const { return {}; }
};

}  // namespace

TEST(Probe, RealKernelHasNoDaxvm) {
  if (real_daxvm()) GTEST_SKIP() << "running on a DaxVM kernel";
  auto v = daxvm::kernel_version();
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error(), errc::kernel_lacks_daxvm);
  EXPECT_FALSE(daxvm::kernel_has_daxvm());
}

TEST(Probe, VersionFileParsing) {
  temp_dir proc;
  daxvm::detail::scoped_roots fake(proc.path());
  EXPECT_EQ(daxvm::kernel_version().error(), errc::kernel_lacks_daxvm);
  testutil::write_file(proc / "fs/daxvm/version", "1\n");
  ASSERT_TRUE(daxvm::kernel_version());
  EXPECT_EQ(*daxvm::kernel_version(), 1);
  EXPECT_TRUE(daxvm::kernel_has_daxvm());
  for (const char* bad : {"", "x\n", "1x\n", "0\n", "-1\n", "99999999999999999999\n"}) {
    testutil::write_file(proc / "fs/daxvm/version", bad);
    auto v = daxvm::kernel_version();
    EXPECT_EQ(v.error(), errc::bad_knob_value) << "content: " << bad;
    EXPECT_FALSE(daxvm::kernel_has_daxvm());
  }
}

TEST(Probe, RegularFileIsNotDaxAndHasNoMapSync) {
  temp_dir d;
  testutil::write_file(d / "f", "data");
  auto p = daxvm::probe_file(d / "f");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_FALSE(p->dax);
  EXPECT_FALSE(p->map_sync);
}

TEST(Probe, TmpfsIsNotDax) {
  if (!std::filesystem::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  temp_dir d("/dev/shm");
  testutil::write_file(d / "f", "data");
  auto p = daxvm::probe_file(d / "f");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->dax);
  EXPECT_FALSE(p->map_sync);
}

TEST(Probe, MissingFileIsENOENT) {
  EXPECT_EQ(daxvm::probe_file("/nonexistent/x").error(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(daxvm::probe_fd(-1).error(), std::errc::bad_file_descriptor);
}

TEST(Knobs, ReadAll) {
  fake_proc p;
  auto c = p.ctl();
  EXPECT_TRUE(c.has_daxvm());
  EXPECT_EQ(*c.version(), 1);
  EXPECT_EQ(*c.get(knob::msync), 1u);
  EXPECT_EQ(*c.get(knob::zombie_max_pages), 33u);
  EXPECT_EQ(*c.get(knob::page_tables_on, "pmem0"), 0u);
  EXPECT_EQ(*c.get(knob::kbytes_occupied, "pmem0"), 1234u);
  EXPECT_EQ(*c.get(knob::zeroout_blocks, "pmem0"), 1u);
  EXPECT_EQ(*c.get(knob::prezero, "pmem0"), 0u);
  EXPECT_EQ(*c.get(knob::prezeroed_blocks, "pmem0"), 77u);
  EXPECT_EQ(*c.get(knob::tables_in_pmem, "pmem0"), 1u);
}

TEST(Knobs, PathsMatchTheContract) {
  control c;
  EXPECT_EQ(c.knob_path(knob::page_tables_on, "pmem0"), "/proc/fs/ext4/pmem0/daxvm_page_tables_on");
  EXPECT_EQ(c.knob_path(knob::kbytes_occupied, "pmem0"), "/proc/fs/ext4/pmem0/daxvm_kbytes_occupied");
  EXPECT_EQ(c.knob_path(knob::zeroout_blocks, "pmem0"), "/proc/fs/ext4/pmem0/daxvm_zeroout_blocks");
  EXPECT_EQ(c.knob_path(knob::prezero, "pmem0"), "/proc/fs/ext4/pmem0/daxvm_prezero");
  EXPECT_EQ(c.knob_path(knob::prezeroed_blocks, "pmem0"), "/proc/fs/ext4/pmem0/daxvm_prezeroed_blocks");
  EXPECT_EQ(c.knob_path(knob::msync), "/proc/fs/daxvm/daxvm_msync");
  EXPECT_EQ(c.knob_path(knob::zombie_max_pages), "/proc/sys/vm/zombie_max_pages");
  EXPECT_EQ(c.knob_path(knob::tables_in_pmem, "pmem0"), "/proc/fs/ext4/pmem0/daxvm_tables_in_pmem");
}

TEST(Knobs, NamesRoundTrip) {
  const std::pair<const char*, knob> all[] = {
      {"page_tables_on", knob::page_tables_on},     {"kbytes_occupied", knob::kbytes_occupied},
      {"zeroout_blocks", knob::zeroout_blocks},     {"prezero", knob::prezero},
      {"prezeroed_blocks", knob::prezeroed_blocks}, {"msync", knob::msync},
      {"zombie_max_pages", knob::zombie_max_pages}, {"tables_in_pmem", knob::tables_in_pmem}};
  for (auto [name, k] : all) {
    EXPECT_STREQ(daxvm::to_string(k), name);
    EXPECT_EQ(daxvm::knob_from_string(name), k) << name;
  }
  ASSERT_EQ(daxvm::all_knobs().size(), std::size(all));
  for (std::size_t i = 0; i < std::size(all); ++i) EXPECT_EQ(daxvm::all_knobs()[i], all[i].second);
  EXPECT_STREQ(daxvm::to_string(static_cast<knob>(8)), "unknown");
  EXPECT_STREQ(daxvm::to_string(static_cast<knob>(-1)), "unknown");
  // Exact names only: no proc file names, case folding or padding.
  using namespace std::string_view_literals;
  for (auto bad : {""sv, "unknown"sv, "daxvm_msync"sv, "MSYNC"sv, " msync"sv, "msync "sv,
                   "zombie_max_page"sv, "msync\0"sv})
    EXPECT_FALSE(daxvm::knob_from_string(bad)) << "name: " << bad;
}

TEST(Knobs, WriteAndReadBack) {
  fake_proc p;
  auto c = p.ctl();
  EXPECT_FALSE(c.set(knob::page_tables_on, 1, "pmem0"));
  EXPECT_EQ(testutil::read_file(p.root / "fs/ext4/pmem0/daxvm_page_tables_on"), "1\n");
  EXPECT_FALSE(c.set(knob::zombie_max_pages, 7));
  EXPECT_EQ(testutil::read_file(p.root / "sys/vm/zombie_max_pages"), "7\n");
  EXPECT_EQ(*c.get(knob::zombie_max_pages), 7u);
  EXPECT_FALSE(c.set(knob::msync, 0));
  EXPECT_EQ(*c.get(knob::msync), 0u);
  EXPECT_FALSE(c.set(knob::prezero, 1, "pmem0"));
  EXPECT_FALSE(c.set(knob::zeroout_blocks, 0, "pmem0"));
  EXPECT_EQ(*c.get(knob::zeroout_blocks, "pmem0"), 0u);
}

TEST(Knobs, RejectsInvalidWrites) {
  fake_proc p;
  auto c = p.ctl();
  EXPECT_EQ(c.set(knob::page_tables_on, 2, "pmem0"), errc::bad_knob_value);
  EXPECT_EQ(c.set(knob::msync, 5), errc::bad_knob_value);
  EXPECT_EQ(c.set(knob::kbytes_occupied, 1, "pmem0"), errc::knob_read_only);
  EXPECT_EQ(c.set(knob::prezeroed_blocks, 1, "pmem0"), errc::knob_read_only);
  EXPECT_EQ(testutil::read_file(p.root / "fs/ext4/pmem0/daxvm_page_tables_on"), "0\n");
}

TEST(Knobs, RejectsBadDeviceNames) {
  fake_proc p;
  auto c = p.ctl();
  for (const char* dev : {"", ".", "..", "../pmem0", "a/b"}) {
    EXPECT_EQ(c.get(knob::page_tables_on, dev).error(), std::errc::invalid_argument) << dev;
    EXPECT_EQ(c.set(knob::page_tables_on, 1, dev), std::errc::invalid_argument) << dev;
  }
}

TEST(Knobs, RejectsBadContent) {
  fake_proc p;
  auto c = p.ctl();
  auto f = p.root / "fs/ext4/pmem0/daxvm_page_tables_on";
  for (const char* bad : {"2\n", "yes\n", "", "\n", "1 1\n", "-1\n"}) {
    testutil::write_file(f, bad);
    EXPECT_EQ(c.get(knob::page_tables_on, "pmem0").error(), errc::bad_knob_value) << bad;
  }
  testutil::write_file(f, "  1 \n");
  EXPECT_EQ(*c.get(knob::page_tables_on, "pmem0"), 1u);
  testutil::write_file(p.root / "sys/vm/zombie_max_pages", "18446744073709551616\n");
  EXPECT_EQ(c.get(knob::zombie_max_pages).error(), errc::bad_knob_value);
  testutil::write_file(p.root / "sys/vm/zombie_max_pages", "18446744073709551615\n");
  EXPECT_EQ(*c.get(knob::zombie_max_pages), UINT64_MAX);
}

TEST(Knobs, MissingPiecesGiveTypedErrors) {
  fake_proc p;
  auto c = p.ctl();
  EXPECT_EQ(c.get(knob::page_tables_on, "pmem9").error(), std::errc::no_such_device);
  EXPECT_EQ(c.set(knob::page_tables_on, 1, "pmem9"), std::errc::no_such_device);
  std::filesystem::remove(p.root / "fs/ext4/pmem0/daxvm_prezero");
  EXPECT_EQ(c.get(knob::prezero, "pmem0").error(), errc::knob_unavailable);
  EXPECT_EQ(c.set(knob::prezero, 1, "pmem0"), errc::knob_unavailable);
  std::filesystem::remove(p.root / "fs/daxvm/version");  // a kernel without DaxVM
  EXPECT_EQ(c.get(knob::prezero, "pmem0").error(), errc::kernel_lacks_daxvm);
  EXPECT_EQ(c.set(knob::prezero, 1, "pmem0"), errc::kernel_lacks_daxvm);
  EXPECT_EQ(c.get(knob::page_tables_on, "pmem9").error(), errc::kernel_lacks_daxvm);
}

TEST(Knobs, RealProcWithoutDaxvm) {
  if (real_daxvm()) GTEST_SKIP() << "running on a DaxVM kernel";
  control c;
  EXPECT_EQ(c.version().error(), errc::kernel_lacks_daxvm);
  for (knob k : {knob::msync, knob::zombie_max_pages}) {
    EXPECT_EQ(c.get(k).error(), errc::kernel_lacks_daxvm);
    EXPECT_EQ(c.set(k, 1), errc::kernel_lacks_daxvm);
  }
  EXPECT_EQ(c.get(knob::page_tables_on, "vda").error(), errc::kernel_lacks_daxvm);
}

TEST(Syscalls, WithoutDaxvmNeverCallTheKernel) {
  if (real_daxvm()) GTEST_SKIP() << "running on a DaxVM kernel";
  control c;
  // 451/452 are cachestat/fchmodat2 upstream: only the probe may decide.
  EXPECT_EQ(c.migrate_tables(0), errc::kernel_lacks_daxvm);
  EXPECT_EQ(c.flush_zombies(), errc::kernel_lacks_daxvm);
  temp_dir empty_proc;
  daxvm::detail::scoped_roots fake(empty_proc.path());
  EXPECT_EQ(control{}.flush_zombies(), errc::kernel_lacks_daxvm);
}

TEST(Control, OutOfRangeKnobIsInvalid) {
  fake_proc p;
  const auto bad = static_cast<knob>(99);
  EXPECT_EQ(p.ctl().get(bad).error(), std::errc::invalid_argument);
  EXPECT_EQ(p.ctl().set(bad, 1), std::errc::invalid_argument);
  EXPECT_TRUE(p.ctl().knob_path(bad).empty());
}

// A DaxVM whose uapi version lacks a syscall gets a typed error, no call.
TEST(Syscalls, OlderDaxvmNeverCallsTheKernel) {
  fake_proc p;  // version 1
  control c = p.ctl();
  EXPECT_EQ(c.flush_zombies(), errc::option_unsupported);
  EXPECT_EQ(c.migrate_tables(0), errc::option_unsupported);
}

TEST(DeviceFor, UsesSysfsDevname) {
  temp_dir d, sys;
  testutil::write_file(d / "f", "x");
  struct stat st {};
  ASSERT_EQ(::stat((d / "f").c_str(), &st), 0);
  auto majmin = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  testutil::write_file(sys / ("dev/block/" + majmin + "/uevent"),
                       "MAJOR=259\nMINOR=0\nDEVNAME=pmem0\nDEVTYPE=disk\n");
  daxvm::detail::scoped_roots fake("/nonexistent-proc", sys.path());
  control c;
  auto dev = c.device_for(d / "f");
  ASSERT_TRUE(dev) << dev.error().message();
  EXPECT_EQ(*dev, "pmem0");
}

TEST(DeviceFor, FallsBackToMountinfo) {
  temp_dir d, proc, sys;
  testutil::write_file(d / "f", "x");
  struct stat st {};
  ASSERT_EQ(::stat((d / "f").c_str(), &st), 0);
  auto majmin = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  testutil::write_file(proc / "self/mountinfo",
                       "22 1 0:5 / /proc rw,nosuid shared:5 - proc proc rw\n"
                       "23 1 " + majmin + " / /mnt/pmem0 rw,relatime shared:1 - ext4 /dev/pmem0p1 rw,dax=always\n");
  daxvm::detail::scoped_roots fake(proc.path(), sys.path());
  control c;
  auto dev = c.device_for(d / "f");
  ASSERT_TRUE(dev) << dev.error().message();
  EXPECT_EQ(*dev, "pmem0p1");
}

TEST(DeviceFor, RealSystem) {
  temp_dir d;
  testutil::write_file(d / "f", "x");
  control c;
  auto dev = c.device_for(d / "f");
  // Whatever backs the temp dir: a block device name, or ENODEV (tmpfs).
  if (dev) {
    EXPECT_FALSE(dev->empty());
    EXPECT_EQ(dev->find('/'), std::string::npos);
  } else {
    EXPECT_EQ(dev.error(), std::errc::no_such_device);
  }
  if (std::filesystem::is_directory("/dev/shm")) {
    temp_dir shm("/dev/shm");
    EXPECT_EQ(c.device_for(shm.path()).error(), std::errc::no_such_device);
  }
  EXPECT_EQ(c.device_for("/nonexistent/x").error(), std::errc::no_such_file_or_directory);
}

TEST(Errors, CategoryAndMessages) {
  std::error_code ec = errc::kernel_lacks_daxvm;
  EXPECT_STREQ(ec.category().name(), "daxvm");
  EXPECT_EQ(ec.message(), "kernel lacks DaxVM");
  EXPECT_EQ(std::error_code(errc::not_dax), std::errc::operation_not_supported);
  EXPECT_NE(std::error_code(errc::not_dax), std::errc::invalid_argument);
  EXPECT_EQ(std::error_code(errc::range_beyond_eof), std::errc::invalid_argument);
  EXPECT_NE(std::error_code(errc::empty_file), errc::unaligned_offset);
  EXPECT_EQ(std::error_code(errc::fs_lacks_daxvm), std::errc::operation_not_supported);
  EXPECT_NE(std::error_code(errc::fs_lacks_daxvm), errc::not_dax);
  for (int v = 1; v <= static_cast<int>(errc::fs_lacks_daxvm); ++v)
    EXPECT_NE(daxvm::category().message(v), "unknown daxvm error") << v;
  EXPECT_STREQ(daxvm::to_string(daxvm::fallback_reason::fs_lacks_daxvm), "fs_lacks_daxvm");
}
