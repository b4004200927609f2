// Host tests of libdaxvm-preload.so: preload_probe (a plain C program) runs
// under LD_PRELOAD on this host's kernel, on files of the build directory
// (not DAX), so every shared file mapping must fall back and still behave
// exactly as without the shim.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;

struct run_result {
  int status = -1;  // exit code, or 128 + signal
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

class Preload : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    work_ = fs::path(DAXVM_PRELOAD_WORK) / info->name();
    fs::remove_all(work_);
    fs::create_directories(work_);
    file_ = work_ / "data";
    std::ofstream f(file_, std::ios::binary);
    for (int i = 0; i < 3 * 4096; ++i) f.put(static_cast<char>((i * 7 + i / 4096) & 0xff));
    stats_ = work_ / "stats";
  }

  // Runs the probe with LD_PRELOAD and DAXVM_PRELOAD_STATS=stats_ plus env
  // (the caller's own DAXVM_PRELOAD_* and LD_PRELOAD are dropped); stats
  // "none" leaves DAXVM_PRELOAD_STATS unset.
  run_result probe(const std::vector<std::string>& steps,
                   const std::vector<std::pair<std::string, std::string>>& env = {},
                   const std::string& stats = "") {
    std::vector<std::string> envs;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string s(*e);
      if (s.rfind("DAXVM_PRELOAD_", 0) == 0 || s.rfind("LD_PRELOAD=", 0) == 0) continue;
      envs.push_back(s);
    }
    envs.push_back(std::string("LD_PRELOAD=") + DAXVM_PRELOAD_SO);
    if (stats != "none")
      envs.push_back("DAXVM_PRELOAD_STATS=" + (stats.empty() ? stats_.string() : stats));
    for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
    std::vector<std::string> args{DAXVM_PRELOAD_PROBE, file_.string()};
    args.insert(args.end(), steps.begin(), steps.end());

    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    const auto out = work_ / "out", err = work_ / "err";
    pid_t pid = fork();
    if (pid == 0) {
      int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || chdir(work_.c_str()) != 0) _exit(126);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    run_result r;
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return r;
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  [[nodiscard]] std::vector<std::string> stats_lines() const { return lines(slurp(stats_)); }

  fs::path work_, file_, stats_;
};

#define EXPECT_PROBE_OK(r)                                          \
  do {                                                              \
    EXPECT_EQ((r).status, 0) << "stderr: " << (r).err;              \
    EXPECT_EQ((r).out, "probe ok\n");                               \
  } while (0)

TEST_F(Preload, SharedFileMappingsFallBackWithTheirData) {
  auto r = probe({"shared", "3", "shared64", "validate"});
  EXPECT_PROBE_OK(r);
  EXPECT_EQ(r.err, "");
  // This host's files are not DAX: every try is refused, as unknown flags
  // on a stock kernel or a non-DAX file on a DaxVM one.
  EXPECT_EQ(stats_lines(), std::vector<std::string>{"attached 0 fallback 5 refused EOPNOTSUPP:5"});
}

TEST_F(Preload, PrivateAnonymousAndDeviceMappingsAreNotCounted) {
  auto r = probe({"private", "anon"});
  EXPECT_PROBE_OK(r);
  EXPECT_EQ(stats_lines(), std::vector<std::string>{"attached 0 fallback 0"});
}

TEST_F(Preload, FailingCallsKeepTheirErrno) {
  auto r = probe({"errno"});
  EXPECT_PROBE_OK(r);
  // The closed fd is not tried (fstat fails); the other two are tried,
  // refused, and then fail as the program's own calls.
  auto l = stats_lines();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].rfind("attached 0 fallback 2 refused ", 0), 0u) << l[0];
}

TEST_F(Preload, ForkedChildrenCountIntoTheFirstProcess) {
  auto r = probe({"fork", "4", "shared", "1"});
  EXPECT_PROBE_OK(r);
  EXPECT_EQ(stats_lines(), std::vector<std::string>{"attached 0 fallback 5 refused EOPNOTSUPP:5"});
}

TEST_F(Preload, BadOptionValuesAreReportedOnceAndOff) {
  auto r = probe({"fork", "3", "shared", "2"}, {{"DAXVM_PRELOAD_BATCHING", "yes"},
                                                {"DAXVM_PRELOAD_NO_MSYNC", "2"},
                                                {"DAXVM_PRELOAD_EPHEMERAL", ""}});
  EXPECT_PROBE_OK(r);
  EXPECT_EQ(lines(r.err).size(), 3u) << r.err;
  EXPECT_EQ(count(r.err, "DAXVM_PRELOAD_BATCHING=\"yes\": want 0 or 1; option off"), 1u) << r.err;
  EXPECT_EQ(count(r.err, "DAXVM_PRELOAD_NO_MSYNC=\"2\""), 1u) << r.err;
  EXPECT_EQ(count(r.err, "DAXVM_PRELOAD_EPHEMERAL=\"\""), 1u) << r.err;
  EXPECT_EQ(stats_lines(), std::vector<std::string>{"attached 0 fallback 5 refused EOPNOTSUPP:5"});
}

TEST_F(Preload, GoodOptionValuesAreQuietAndFallBack) {
  for (const char* v : {"0", "1"}) {
    auto r = probe({"shared", "2"}, {{"DAXVM_PRELOAD_BATCHING", v},
                                     {"DAXVM_PRELOAD_NO_MSYNC", v},
                                     {"DAXVM_PRELOAD_EPHEMERAL", v}});
    EXPECT_PROBE_OK(r);
    EXPECT_EQ(r.err, "") << "value " << v;
  }
  EXPECT_EQ(stats_lines(), (std::vector<std::string>{"attached 0 fallback 2 refused EOPNOTSUPP:2",
                                                     "attached 0 fallback 2 refused EOPNOTSUPP:2"}));
}

TEST_F(Preload, RelativeStatsPathIsFixedAtStartAndAppended) {
  for (int i = 0; i < 2; ++i) {
    auto r = probe({"chdir", "/", "shared", "1"}, {}, "relative.stats");
    EXPECT_PROBE_OK(r);
  }
  EXPECT_FALSE(fs::exists("/relative.stats"));
  EXPECT_EQ(lines(slurp(work_ / "relative.stats")),
            (std::vector<std::string>{"attached 0 fallback 1 refused EOPNOTSUPP:1",
                                      "attached 0 fallback 1 refused EOPNOTSUPP:1"}));
}

TEST_F(Preload, NoReportWithoutTheVariable) {
  auto r = probe({"shared", "1"}, {}, "none");
  EXPECT_PROBE_OK(r);
  EXPECT_FALSE(fs::exists(stats_));
}

TEST_F(Preload, FailingProbeIsSeen) {
  // The probe itself must be able to fail: a missing file.
  file_ = work_ / "missing";
  auto r = probe({"shared", "1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("probe: open"), std::string::npos) << r.err;
}

}  // namespace
