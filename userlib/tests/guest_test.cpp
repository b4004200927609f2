// Guest tests: run inside a VM with the DaxVM kernel and a DAX mount.
//   DAXVM_TEST_DIR=/mnt/pmem0 ./daxvm_guest_tests
// Without DAXVM_TEST_DIR every test skips; without a DaxVM kernel only the
// DaxVM-specific tests skip (MAP_SYNC on DAX still runs).
#include <sys/mman.h>
#include <sys/syscall.h>

#include <csignal>
#include <fstream>
#include <cstring>

#include <daxvm/daxvm.hpp>

#include "test_util.hpp"

using daxvm::mapping;

// A macro, not a helper function: GTEST_SKIP() only returns from the
// function it is written in, and the test body must stop.
#define REQUIRE_DAXVM()                                                              \
  do {                                                                               \
    if (!daxvm::kernel_has_daxvm())                                                  \
      GTEST_SKIP() << "kernel lacks DaxVM (no /proc/fs/daxvm/version)";              \
  } while (0)

// Mechanisms a kernel's DaxVM does not implement (older series: batching
// and its knob) answer option_unsupported, ENOSYS or "knob missing": those
// tests skip, naming why; any other error (not_dax included) fails.
#define SKIP_IF_UNIMPLEMENTED(ec)                                                    \
  do {                                                                               \
    const std::error_code e_ = (ec);                                                 \
    if (e_ == daxvm::errc::option_unsupported || e_ == std::errc::function_not_supported || \
        e_ == daxvm::errc::knob_unavailable)                                         \
      GTEST_SKIP() << "not implemented by this kernel's DaxVM yet: " << e_.message(); \
  } while (0)

namespace {

constexpr std::size_t two_mib = 2u << 20;

class Guest : public ::testing::Test {
 protected:
  std::filesystem::path dir;
  std::unique_ptr<testutil::temp_dir> tmp;
  std::filesystem::path file;
  std::string content;

  void SetUp() override {
    const char* env = std::getenv("DAXVM_TEST_DIR");
    if (!env || !*env) GTEST_SKIP() << "DAXVM_TEST_DIR is unset: set it to a DAX mount (e.g. /mnt/pmem0)";
    dir = env;
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir << " is not a directory";
    tmp = std::make_unique<testutil::temp_dir>(dir);
    file = tmp->path() / "data";
    content = testutil::pattern(2 * two_mib + 12345);  // >1 PMD, with a tail
    testutil::write_file(file, content);
    auto p = daxvm::probe_file(file);
    ASSERT_TRUE(p) << p.error().message();
    ASSERT_TRUE(p->dax) << dir << " is not a DAX mount (mount -o dax=always)";
  }

  // No fallback: a fallback would hide a broken kernel.
  static daxvm::map_options daxvm_opts() { return {.flags = daxvm::map_flags::daxvm}; }
};

}  // namespace

TEST_F(Guest, ProbeSeesDaxAndMapSync) {
  auto p = daxvm::probe_file(file);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->dax_known);
  EXPECT_TRUE(p->map_sync);
}

TEST_F(Guest, MapSyncWorksOnDax) {
  daxvm::map_options o;
  o.flags |= daxvm::map_flags::sync;
  auto m = daxvm::writable_mapping::map(file, o);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->fallback(), daxvm::fallback_reason::none);
  EXPECT_NE(m->mmap_flags() & MAP_SYNC, 0);
  std::memcpy(m->writable_bytes().data() + 100, "SYNC", 4);
  daxvm::flush_cpu_caches(m->bytes().data() + 100, 4);
  EXPECT_FALSE(m->sync(100, 4));
  EXPECT_FALSE(m->unmap());
  EXPECT_EQ(testutil::read_file(file).substr(100, 4), "SYNC");
}

TEST_F(Guest, ReadOnlyWriteFaultsWithoutDaxvm) {
  auto m = mapping::map(file);
  ASSERT_TRUE(m);
  auto* p = const_cast<std::byte*>(m->bytes().data());
  EXPECT_EXIT({ p[0] = std::byte{1}; std::exit(0); }, ::testing::KilledBySignal(SIGSEGV), "");
}

TEST_F(Guest, DaxvmMapReadsFileContent) {
  REQUIRE_DAXVM();
  auto m = mapping::map(file, daxvm_opts());
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->fallback(), daxvm::fallback_reason::none);
  EXPECT_NE(m->mmap_flags() & MAP_DAXVM, 0);
  ASSERT_EQ(m->size(), content.size());
  EXPECT_EQ(0, std::memcmp(m->bytes().data(), content.data(), content.size()));
}

TEST_F(Guest, DaxvmRangeAtPmdBoundary) {
  REQUIRE_DAXVM();
  auto o = daxvm_opts();
  o.offset = two_mib;
  o.length = 4096 + 10;
  auto m = mapping::map(file, o);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(0, std::memcmp(m->bytes().data(), content.data() + two_mib, o.length));
}

TEST_F(Guest, DaxvmReadOnlyWriteFaults) {
  REQUIRE_DAXVM();
  auto m = mapping::map(file, daxvm_opts());
  ASSERT_TRUE(m) << m.error().message();
  auto* p = const_cast<std::byte*>(m->bytes().data());
  EXPECT_EXIT({ p[two_mib + 1] = std::byte{1}; std::exit(0); },
              ::testing::KilledBySignal(SIGSEGV), "");
}

// Per-process permissions live at the PMD: a writable and a read-only
// mapping of one file share PTE pages but not rights.
TEST_F(Guest, DaxvmWritableAndReadOnlyShareData) {
  REQUIRE_DAXVM();
  auto rw = daxvm::writable_mapping::map(file, daxvm_opts());
  auto ro = mapping::map(file, daxvm_opts());
  ASSERT_TRUE(rw && ro);
  std::memcpy(rw->writable_bytes().data() + 7, "PMD", 3);
  EXPECT_EQ(0, std::memcmp(ro->bytes().data() + 7, "PMD", 3));
  EXPECT_FALSE(rw->sync(7, 3));
  auto* p = const_cast<std::byte*>(ro->bytes().data());
  EXPECT_EXIT({ p[7] = std::byte{1}; std::exit(0); }, ::testing::KilledBySignal(SIGSEGV), "");
  EXPECT_FALSE(rw->unmap());
  EXPECT_EQ(0, std::memcmp(ro->bytes().data() + 7, "PMD", 3)) << "unmap of one must not zap the other";
  EXPECT_EQ(testutil::read_file(file).substr(7, 3), "PMD");
}

TEST_F(Guest, DaxvmWriteSyncDurableViaRead) {
  REQUIRE_DAXVM();
  auto m = daxvm::writable_mapping::map(file, daxvm_opts());
  ASSERT_TRUE(m) << m.error().message();
  std::memcpy(m->writable_bytes().data() + two_mib + 5, "durable", 7);
  EXPECT_FALSE(m->sync(two_mib + 5, 7));
  EXPECT_FALSE(m->unmap());
  EXPECT_EQ(testutil::read_file(file).substr(two_mib + 5, 7), "durable");
}

TEST_F(Guest, NoMsyncUsesUserSpaceFlush) {
  REQUIRE_DAXVM();
  auto o = daxvm_opts();
  o.flags |= daxvm::map_flags::no_msync;
  auto m = daxvm::writable_mapping::map(file, o);
  if (!m) SKIP_IF_UNIMPLEMENTED(m.error());
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_NE(m->mmap_flags() & MAP_NO_MSYNC, 0);
  std::memcpy(m->writable_bytes().data(), "nosync", 6);
  EXPECT_FALSE(m->sync(0, 6));
}

TEST_F(Guest, DaxvmPrivateIsEinvalFromKernel) {
  REQUIRE_DAXVM();
  int fd = ::open(file.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  void* a = ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_DAXVM, fd, 0);
  int e = errno;
  ::close(fd);
  EXPECT_EQ(a, MAP_FAILED);
  EXPECT_EQ(e, EINVAL);
}

TEST_F(Guest, DaxvmOnNonDaxFileIsNotDax) {
  REQUIRE_DAXVM();
  testutil::temp_dir other;  // $TMPDIR: expected not to be DAX
  testutil::write_file(other / "f", "x");
  if (daxvm::probe_file(other / "f")->dax) GTEST_SKIP() << "$TMPDIR is DAX too";
  daxvm::map_options o;
  o.flags |= daxvm::map_flags::daxvm;
  EXPECT_EQ(mapping::map(other / "f", o).error(), daxvm::errc::not_dax);
  int fd = ::open((other / "f").c_str(), O_RDONLY);
  void* a = ::mmap(nullptr, 4096, PROT_READ, MAP_SHARED_VALIDATE | MAP_DAXVM, fd, 0);
  int e = errno;
  ::close(fd);
  EXPECT_EQ(a, MAP_FAILED);
  EXPECT_EQ(e, EOPNOTSUPP);
}

TEST_F(Guest, OptionTheKernelLacksIsNamed) {
  REQUIRE_DAXVM();
  auto o = daxvm_opts();
  o.flags |= daxvm::map_flags::ephemeral;  // no kernel patch implements it yet
  auto m = mapping::map(file, o);
  if (m) GTEST_SKIP() << "this kernel supports the ephemeral heap";
  // Not "not on a DAX mount": the file is, only the option is missing.
  EXPECT_EQ(m.error(), daxvm::errc::option_unsupported) << m.error().message();
  o.flags |= daxvm::map_flags::fallback;
  auto f = mapping::map(file, o);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->fallback(), daxvm::fallback_reason::option_unsupported);
  EXPECT_NE(f->mmap_flags() & MAP_DAXVM, 0);
  EXPECT_EQ(f->mmap_flags() & MAP_DAXVM_EPHEMERAL, 0);
  EXPECT_EQ(std::to_integer<char>(f->bytes()[7]), content[7]);
}

// Does /proc/self/maps list a mapping starting at p?
static bool mapped_at(const void* p) {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);)
    if (std::stoul(line, nullptr, 16) == reinterpret_cast<std::uintptr_t>(p)) return true;
  return false;
}

TEST_F(Guest, BatchingAndFlushZombies) {
  REQUIRE_DAXVM();
  daxvm::control c;
  auto limit = c.get(daxvm::knob::zombie_max_pages);
  if (!limit) SKIP_IF_UNIMPLEMENTED(limit.error());
  ASSERT_TRUE(limit) << limit.error().message();
  ASSERT_FALSE(c.set(daxvm::knob::zombie_max_pages, 1u << 20));
  auto o = daxvm_opts();
  o.flags |= daxvm::map_flags::batching;
  const void* last = nullptr;
  for (int i = 0; i < 64; ++i) {
    auto m = mapping::map(file, o);
    if (!m) SKIP_IF_UNIMPLEMENTED(m.error());
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_NE(m->mmap_flags() & MAP_DAXVM_BATCHING, 0);
    EXPECT_EQ(std::to_integer<char>(m->bytes()[1]), content[1]);
    last = m->bytes().data();
    ASSERT_FALSE(m->unmap());
  }
  // The unmapped range stays reserved until the batch is flushed.
  EXPECT_TRUE(mapped_at(last));
  EXPECT_FALSE(c.flush_zombies());
  EXPECT_FALSE(mapped_at(last));
  EXPECT_EQ(c.flush_zombies(1), std::errc::invalid_argument);
  EXPECT_FALSE(c.set(daxvm::knob::zombie_max_pages, *limit));
}

TEST_F(Guest, EphemeralWithFile) {
  REQUIRE_DAXVM();
  // The helper's options fall back to what the kernel has, without failing.
  auto m = mapping::map(file, daxvm::ephemeral_options());
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_NE(m->mmap_flags() & MAP_DAXVM, 0);
  if (daxvm::kernel_version().value() >= 2) {
    EXPECT_NE(m->mmap_flags() & MAP_DAXVM_BATCHING, 0);
  }
  std::size_t seen = 0;
  for (int i = 0; i < 100; ++i) {
    auto e = daxvm::with_file(file, [&](std::span<const std::byte> s) { seen += s.size(); });
    ASSERT_FALSE(e) << e.message();
  }
  EXPECT_EQ(seen, 100 * content.size());
  EXPECT_FALSE(daxvm::control{}.flush_zombies());
}

// A DAX file whose file system has no DaxVM adapter (xfs) is named so,
// not "not DAX"; the fallback keeps MAP_SYNC.
TEST_F(Guest, DaxFileSystemWithoutDaxvm) {
  REQUIRE_DAXVM();
  const char* xfs = std::getenv("DAXVM_TEST_XFS_DIR");
  if (!xfs || !*xfs) GTEST_SKIP() << "DAXVM_TEST_XFS_DIR is unset (an xfs dax=always mount)";
  testutil::temp_dir d(xfs);
  testutil::write_file(d / "f", content);
  auto p = daxvm::probe_file(d / "f");
  ASSERT_TRUE(p && p->dax) << xfs << " is not a DAX mount";
  auto o = daxvm_opts();
  auto m = mapping::map(d / "f", o);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), daxvm::errc::fs_lacks_daxvm) << m.error().message();
  o.flags |= daxvm::map_flags::fallback;
  o.flags |= daxvm::map_flags::sync;
  auto f = daxvm::writable_mapping::map(d / "f", o);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->fallback(), daxvm::fallback_reason::fs_lacks_daxvm);
  EXPECT_EQ(f->mmap_flags() & MAP_DAXVM, 0);
  EXPECT_NE(f->mmap_flags() & MAP_SYNC, 0);
  EXPECT_EQ(std::to_integer<char>(f->bytes()[9]), content[9]);
}

TEST_F(Guest, MigrateTables) {
  REQUIRE_DAXVM();
  // No kernel patch adds the syscall yet: a typed error, and no syscall.
  EXPECT_EQ(daxvm::control{}.migrate_tables(0), daxvm::errc::option_unsupported);
}

TEST_F(Guest, KnobsOfThisMount) {
  REQUIRE_DAXVM();
  daxvm::control c;
  auto dev = c.device_for(dir);
  ASSERT_TRUE(dev) << dev.error().message();
  auto on = c.get(daxvm::knob::page_tables_on, *dev);
  ASSERT_TRUE(on) << on.error().message();
  EXPECT_LE(*on, 1u);
  EXPECT_TRUE(c.get(daxvm::knob::kbytes_occupied, *dev));
  EXPECT_TRUE(c.get(daxvm::knob::zeroout_blocks, *dev));
  EXPECT_TRUE(c.get(daxvm::knob::prezero, *dev));
  EXPECT_TRUE(c.get(daxvm::knob::prezeroed_blocks, *dev));
  auto pmem = c.get(daxvm::knob::tables_in_pmem, *dev);
  ASSERT_TRUE(pmem) << pmem.error().message();
  EXPECT_LE(*pmem, 1u);
  auto z = c.get(daxvm::knob::zombie_max_pages);
  if (!z) SKIP_IF_UNIMPLEMENTED(z.error());
  ASSERT_TRUE(z) << z.error().message();
  EXPECT_FALSE(c.set(daxvm::knob::zombie_max_pages, *z));  // write back unchanged
  EXPECT_TRUE(c.get(daxvm::knob::msync));
}
