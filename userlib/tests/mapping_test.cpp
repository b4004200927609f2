// Host tests for daxvm::mapping: errors, fallbacks, ranges, moves, sync.
// They pass on any Linux: no DaxVM kernel and no DAX mount are assumed.
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <atomic>
#include <cstring>
#include <type_traits>

#include <daxvm/daxvm.hpp>

#include "test_seam.hpp"
#include "test_util.hpp"

using daxvm::errc;
using daxvm::mapping;
using testutil::temp_dir;

// Count msync calls made by the library (which resolves msync to this
// definition) so "destructor never msyncs" is checked, not assumed.
static std::atomic<int> g_msync_calls{0};
// The raw syscall (not dlsym) keeps this working in static test binaries.
extern "C" int msync(void* addr, size_t len, int flags) {
  ++g_msync_calls;
  return static_cast<int>(::syscall(SYS_msync, addr, len, flags));
}

namespace {

// True if [addr, addr+len) is still mapped in this process.
bool is_mapped(const void* addr, std::size_t len) {
  unsigned char vec[4];
  return ::mincore(const_cast<void*>(addr), std::min(len, testutil::page()), vec) == 0;
}

bool daxvm_kernel() { return daxvm::kernel_has_daxvm(); }

class MappingTest : public ::testing::Test {
 protected:
  temp_dir dir;
  std::filesystem::path file = dir / "data";
  std::string content = testutil::pattern(3 * testutil::page() + 100);
  void SetUp() override { testutil::write_file(file, content); }
};

}  // namespace

static_assert(!std::is_copy_constructible_v<mapping>);
static_assert(!std::is_copy_assignable_v<mapping>);
static_assert(std::is_nothrow_move_constructible_v<mapping>);
static_assert(std::is_nothrow_move_assignable_v<mapping>);
static_assert(std::is_nothrow_destructible_v<mapping>);

TEST_F(MappingTest, MapsWholeFileReadOnly) {
  auto m = mapping::map(file);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_TRUE(m->mapped());
  EXPECT_FALSE(m->writable());  // and no writable_bytes(): see tests/read_only_write.cpp
  ASSERT_EQ(m->size(), content.size());
  EXPECT_EQ(0, std::memcmp(m->bytes().data(), content.data(), content.size()));
  // Shared mappings always validate flags (plain MAP_SHARED drops unknown ones).
  EXPECT_EQ(m->mmap_flags() & MAP_TYPE, MAP_SHARED_VALIDATE);
  EXPECT_EQ(m->fallback(), daxvm::fallback_reason::none);
}

TEST_F(MappingTest, MapsByFdWithoutTakingIt) {
  int fd = ::open(file.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  {
    auto m = mapping::map(fd);
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->size(), content.size());
  }
  EXPECT_EQ(::fcntl(fd, F_GETFD), 0) << "fd must stay open";
  ::close(fd);
}

TEST_F(MappingTest, RangeMapsExactBytes) {
  daxvm::map_options o;
  o.offset = testutil::page();
  o.length = 100;
  auto m = mapping::map(file, o);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->size(), 100u);
  EXPECT_EQ(m->offset(), testutil::page());
  EXPECT_EQ(0, std::memcmp(m->bytes().data(), content.data() + testutil::page(), 100));
}

TEST_F(MappingTest, RangeToEndOfFile) {
  daxvm::map_options o;
  o.offset = 2 * testutil::page();
  auto m = mapping::map(file, o);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->size(), content.size() - 2 * testutil::page());
  EXPECT_EQ(0, std::memcmp(m->bytes().data(), content.data() + o.offset, m->size()));
}

TEST_F(MappingTest, ExactEndOfFileIsAllowed) {
  daxvm::map_options o;
  o.length = content.size();
  EXPECT_TRUE(mapping::map(file, o));
}

TEST(MappingErrors, MissingFileIsENOENT) {
  auto m = mapping::map("/nonexistent/daxvm/file");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), std::errc::no_such_file_or_directory);
}

TEST(MappingErrors, DirectoryIsEISDIR) {
  temp_dir d;
  auto r = mapping::map(d.path());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::is_a_directory);
  auto w = daxvm::writable_mapping::map(d.path());
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error(), std::errc::is_a_directory);
}

TEST(MappingErrors, UnreadableFileIsEACCES) {
  temp_dir d;
  auto f = d / "secret";
  testutil::write_file(f, "x");
  ::chmod(f.c_str(), 0);
  ::chmod(d.path().c_str(), 0755);
  // root ignores file modes: check as an unprivileged user in a child.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
    auto m = mapping::map(f);
    ::_exit(!m && m.error() == std::errc::permission_denied ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "3 = could not drop privileges, 1 = wrong error";
}

TEST_F(MappingTest, WritableMappingOfReadOnlyFdIsEACCES) {
  int fd = ::open(file.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  daxvm::map_options o;
  auto m = daxvm::writable_mapping::map(fd, o);
  ::close(fd);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), std::errc::permission_denied);
}

TEST(MappingErrors, EmptyFile) {
  temp_dir d;
  testutil::write_file(d / "empty", "");
  auto m = mapping::map(d / "empty");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), errc::empty_file);
  EXPECT_EQ(m.error().category(), daxvm::category());
  EXPECT_EQ(m.error(), std::errc::invalid_argument);  // errno-style condition
}

TEST_F(MappingTest, UnalignedOffset) {
  daxvm::map_options o;
  o.offset = 100;
  auto m = mapping::map(file, o);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), errc::unaligned_offset);
}

TEST_F(MappingTest, RangeBeyondEof) {
  daxvm::map_options past_end;
  past_end.offset = 4 * testutil::page();
  daxvm::map_options too_long;
  too_long.offset = testutil::page();
  too_long.length = content.size();
  daxvm::map_options huge;
  huge.length = SIZE_MAX;
  for (const auto& o : {past_end, too_long, huge}) {
    auto m = mapping::map(file, o);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error(), errc::range_beyond_eof) << m.error().message();
  }
}

TEST(MappingErrors, NonRegularFileIsENODEV) {
  auto m = mapping::map("/dev/null");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), std::errc::no_such_device);
}

TEST_F(MappingTest, DaxvmFlagsWithPrivateAreEINVAL) {
  daxvm::map_options o;
  o.flags |= daxvm::map_flags::private_copy;
  o.flags |= daxvm::map_flags::daxvm;
  o.flags |= daxvm::map_flags::fallback;  // a misuse, not a missing feature
  auto m = mapping::map(file, o);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), std::errc::invalid_argument);
}

// The rules between options are checked, not implied.
static_assert(daxvm::valid(daxvm::map_flags::daxvm | daxvm::map_flags::batching));
static_assert(!daxvm::valid(daxvm::map_flags::batching));
static_assert(!daxvm::valid(daxvm::map_flags::private_copy | daxvm::map_flags::sync));
static_assert(!daxvm::valid(static_cast<daxvm::map_flags>(0x8000)));

TEST_F(MappingTest, DaxvmOptionWithoutDaxvmIsEINVAL) {
  using F = daxvm::map_flags;
  for (auto f : {F::batching, F::ephemeral, F::no_msync, F::batching | F::fallback}) {
    auto m = mapping::map(file, {.flags = f});
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error(), std::errc::invalid_argument);
  }
}

TEST_F(MappingTest, KernelWithoutDaxvmFailsTyped) {
  if (daxvm_kernel()) GTEST_SKIP() << "this kernel has DaxVM";
  using F = daxvm::map_flags;
  for (auto set : {F::daxvm, F::daxvm | F::batching, F::daxvm | F::ephemeral, F::daxvm | F::no_msync}) {
    daxvm::map_options o;
    o.flags = set;
    auto m = mapping::map(file, o);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error(), errc::kernel_lacks_daxvm);
    EXPECT_EQ(m.error(), std::errc::function_not_supported);
  }
}

TEST_F(MappingTest, KernelWithoutDaxvmFallsBack) {
  if (daxvm_kernel()) GTEST_SKIP() << "this kernel has DaxVM";
  daxvm::map_options o;
  o.flags |= daxvm::map_flags::daxvm | daxvm::map_flags::batching | daxvm::map_flags::ephemeral |
             daxvm::map_flags::no_msync;
  o.flags |= daxvm::map_flags::fallback;
  auto m = mapping::map(file, o);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->fallback(), daxvm::fallback_reason::kernel_lacks_daxvm);
  EXPECT_STREQ(daxvm::to_string(m->fallback()), "kernel_lacks_daxvm");
  EXPECT_EQ(m->mmap_flags() & (MAP_DAXVM | MAP_DAXVM_BATCHING | MAP_DAXVM_EPHEMERAL | MAP_NO_MSYNC), 0);
  EXPECT_EQ(0, std::memcmp(m->bytes().data(), content.data(), content.size()));
}

// A fake proc root that claims DaxVM lets the "not on DAX" path run here.
TEST_F(MappingTest, DaxvmOnNonDaxFileFailsOrFallsBack) {
  temp_dir proc;
  testutil::write_file(proc / "fs/daxvm/version", "1\n");
  daxvm::map_options o;
  o.flags |= daxvm::map_flags::daxvm;
  daxvm::detail::scoped_roots fake(proc.path());
  auto failed = mapping::map(file, o);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error(), errc::not_dax);
  EXPECT_EQ(failed.error(), std::errc::operation_not_supported);

  o.flags |= daxvm::map_flags::fallback;
  auto m = mapping::map(file, o);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->fallback(), daxvm::fallback_reason::not_dax);
  EXPECT_EQ(m->mmap_flags() & MAP_DAXVM, 0);
}

// Options are checked against the kernel's uapi version before any mmap.
TEST_F(MappingTest, OptionsFollowTheKernelVersion) {
  temp_dir proc;
  testutil::write_file(proc / "fs/daxvm/version", "1\n");
  daxvm::map_options o;
  o.flags |= daxvm::map_flags::daxvm | daxvm::map_flags::batching;  // uapi version 2
  daxvm::detail::scoped_roots fake(proc.path());
  auto failed = mapping::map(file, o);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error(), errc::option_unsupported);
  o.flags |= daxvm::map_flags::fallback;
  auto m = mapping::map(file, o);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->fallback(), daxvm::fallback_reason::option_unsupported);
  EXPECT_EQ(m->mmap_flags() & (MAP_DAXVM | MAP_DAXVM_BATCHING), 0);

  testutil::write_file(proc / "fs/daxvm/version", "2\n");
  o.flags &= ~daxvm::map_flags::fallback;
  auto v2 = mapping::map(file, o);
  ASSERT_FALSE(v2);
  EXPECT_EQ(v2.error(), errc::not_dax);  // known option, file not DAX
  o.flags &= ~daxvm::map_flags::batching;
  o.flags |= daxvm::map_flags::ephemeral;  // no version has it
  EXPECT_EQ(mapping::map(file, o).error(), errc::option_unsupported);
}

TEST_F(MappingTest, MapSyncOnNonDaxFailsOrFallsBack) {
  daxvm::map_options o;
  o.flags |= daxvm::map_flags::sync;
  auto failed = daxvm::writable_mapping::map(file, o);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error(), errc::not_dax);

  o.flags |= daxvm::map_flags::fallback;
  auto m = daxvm::writable_mapping::map(file, o);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->fallback(), daxvm::fallback_reason::not_dax);
  EXPECT_EQ(m->mmap_flags() & MAP_SYNC, 0);
}

TEST_F(MappingTest, MapSyncOnTmpfsIsNotDax) {
  if (!std::filesystem::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  temp_dir shm("/dev/shm");
  testutil::write_file(shm / "f", "hello");
  daxvm::map_options o;
  o.flags |= daxvm::map_flags::sync;
  auto m = mapping::map(shm / "f", o);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), errc::not_dax);
}

TEST_F(MappingTest, PrivateWritableMappingDoesNotChangeFile) {
  daxvm::map_options o;
  o.flags |= daxvm::map_flags::private_copy;
  auto m = daxvm::writable_mapping::map(file, o);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->mmap_flags() & MAP_TYPE, MAP_PRIVATE);
  m->writable_bytes()[0] = std::byte{'Z'};
  EXPECT_EQ(testutil::read_file(file), content);
}

TEST_F(MappingTest, ReadOnlyMapRefusesWriteFlag) {
  auto m = mapping::map(file, {.flags = daxvm::map_flags::write});
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), std::errc::invalid_argument);
}

TEST_F(MappingTest, PopulateStillMaps) {
  daxvm::map_options o;
  o.flags |= daxvm::map_flags::populate;
  auto m = mapping::map(file, o);
  ASSERT_TRUE(m);
  EXPECT_NE(m->mmap_flags() & MAP_POPULATE, 0);
}

TEST_F(MappingTest, WriteSyncIsVisibleThroughRead) {
  daxvm::map_options o;
  auto m = daxvm::writable_mapping::map(file, o);
  ASSERT_TRUE(m) << m.error().message();
  ASSERT_TRUE(m->writable());
  auto w = m->writable_bytes();
  ASSERT_EQ(w.size(), content.size());
  std::memcpy(w.data() + 5000, "DAXVM", 5);
  int before = g_msync_calls;
  EXPECT_FALSE(m->sync(5000, 5));  // unaligned range: library aligns it
  EXPECT_EQ(g_msync_calls, before + 1);
  EXPECT_FALSE(m->sync());
  EXPECT_EQ(testutil::read_file(file).substr(5000, 5), "DAXVM");
}

TEST_F(MappingTest, SyncRejectsOutOfRange) {
  auto m = mapping::map(file);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->sync(content.size() + 1, 0), std::errc::invalid_argument);
  EXPECT_EQ(m->sync(10, content.size()), std::errc::invalid_argument);
  EXPECT_FALSE(m->sync(content.size(), 0));  // empty range at the end is fine
  mapping empty;
  EXPECT_EQ(empty.sync(), std::errc::invalid_argument);
}

TEST_F(MappingTest, DestructorAndUnmapNeverMsync) {
  int before = g_msync_calls;
  {
    daxvm::map_options o;
    auto m = daxvm::writable_mapping::map(file, o);
    ASSERT_TRUE(m);
    m->writable_bytes()[0] = std::byte{'Q'};
    auto m2 = daxvm::writable_mapping::map(file, o);
    ASSERT_TRUE(m2);
    EXPECT_FALSE(m2->unmap());
  }
  EXPECT_EQ(g_msync_calls, before);
}

TEST_F(MappingTest, ExplicitUnmapReleasesAndReports) {
  auto m = mapping::map(file);
  ASSERT_TRUE(m);
  const void* addr = m->bytes().data();
  ASSERT_TRUE(is_mapped(addr, m->size()));
  EXPECT_FALSE(m->unmap());
  EXPECT_FALSE(m->mapped());
  EXPECT_EQ(m->size(), 0u);
  EXPECT_FALSE(is_mapped(addr, 1));
  EXPECT_EQ(m->unmap(), std::errc::invalid_argument);  // second unmap is an error
}

TEST_F(MappingTest, DestructorUnmaps) {
  const void* addr = nullptr;
  {
    auto m = mapping::map(file);
    ASSERT_TRUE(m);
    addr = m->bytes().data();
    EXPECT_TRUE(is_mapped(addr, 1));
  }
  EXPECT_FALSE(is_mapped(addr, 1));
}

TEST_F(MappingTest, MoveConstructTransfersOwnership) {
  auto m = mapping::map(file);
  ASSERT_TRUE(m);
  const void* addr = m->bytes().data();
  mapping a = std::move(*m);
  EXPECT_FALSE(m->mapped());
  EXPECT_TRUE(m->bytes().empty());
  EXPECT_EQ(a.bytes().data(), addr);
  EXPECT_EQ(a.size(), content.size());
  { mapping gone = std::move(*m); }  // destroying the moved-from one unmaps nothing
  EXPECT_TRUE(is_mapped(addr, 1));
}

TEST_F(MappingTest, MoveAssignReleasesOldMapping) {
  auto m1 = mapping::map(file);
  auto m2 = mapping::map(file);
  ASSERT_TRUE(m1 && m2);
  const void* old_addr = m1->bytes().data();
  const void* new_addr = m2->bytes().data();
  *m1 = std::move(*m2);
  EXPECT_FALSE(is_mapped(old_addr, 1));
  EXPECT_EQ(m1->bytes().data(), new_addr);
  EXPECT_FALSE(m2->mapped());
  mapping& self = *m1;
  *m1 = std::move(self);  // self-move keeps the mapping
  EXPECT_TRUE(m1->mapped());
  EXPECT_TRUE(is_mapped(new_addr, 1));
}

TEST_F(MappingTest, ResultValueThrowsOnError) {
  auto m = mapping::map(dir / "missing");
  EXPECT_THROW((void)m.value(), std::bad_expected_access<std::error_code>);
  EXPECT_EQ(m.error(), std::errc::no_such_file_or_directory);
  EXPECT_TRUE(mapping::map(file).has_value());
}

TEST_F(MappingTest, WithFileHandsBytesAndUnmaps) {
  const void* seen = nullptr;
  std::size_t size = 0;
  auto ec = daxvm::with_file(file, [&](std::span<const std::byte> s) {
    seen = s.data();
    size = s.size();
    EXPECT_EQ(0, std::memcmp(s.data(), content.data(), s.size()));
  });
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(size, content.size());
  EXPECT_FALSE(is_mapped(seen, 1));
}

TEST(WithFile, EmptyFileGivesEmptySpanAndMissingFileAnError) {
  temp_dir d;
  testutil::write_file(d / "empty", "");
  int calls = 0;
  EXPECT_FALSE(daxvm::with_file(d / "empty", [&](std::span<const std::byte> s) {
    ++calls;
    EXPECT_TRUE(s.empty());
  }));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(daxvm::with_file(d / "missing", [&](auto) { ++calls; }),
            std::errc::no_such_file_or_directory);
  EXPECT_EQ(calls, 1);
}

TEST(EphemeralOptions, AskForDaxvmWithFallback) {
  auto o = daxvm::ephemeral_options();
  using F = daxvm::map_flags;
  EXPECT_EQ(o.flags, F::daxvm | F::ephemeral | F::batching | F::fallback);
  EXPECT_FALSE(has(o.flags, F::write));
}

TEST(FlushCpuCaches, RunsOnAnyRange) {
  std::vector<char> buf(1000, 'x');
  daxvm::flush_cpu_caches(buf.data() + 3, 997);
  daxvm::flush_cpu_caches(buf.data(), 0);
  EXPECT_EQ(buf[500], 'x');
}
