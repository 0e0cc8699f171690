// Batch use: folders, --files-from, ordering, failures, --shard, --resume, exit statuses.
// Runs the CLI in process on the small fixture model (32 px, fast) and on real photos.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <thread>

#include "child_run.h"
#include "test_util.h"
#include "vit/app/cli.h"
#include "vit/app/options.h"
#include "vit/app/progress.h"
#include "vit/batch/inputs.h"
#include "vit/batch/records.h"
#include "vit/errors.h"
#include "vit/io/sha256.h"

using namespace vit;
namespace t = vit::test;
using nlohmann::json;

namespace {

using Out = t::CliRun;

Out cli(std::vector<std::string> args, const std::string& stdin_text = "") {
  return t::run_cli_capture(args, stdin_text);
}

// Runs cmd in the background, sends sig once `out` holds some records (or after 4 s), and
// returns the wait status.
int kill_once_writing(const std::string& cmd, const std::string& out, int sig) {
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  EXPECT_GT(pid, 0);
  for (int i = 0; i < 200 && t::read_bytes(out).size() < 2000; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(pid, sig);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

void copy_file(const std::string& from, const std::string& to) { t::write_bytes(to, t::read_bytes(from)); }

class Batch : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = t::fixtures() + "/small/hf/model.safetensors";
    VIT_REQUIRE_FILE(model_);
    VIT_REQUIRE_FILE(t::fixtures() + "/images/photo.jpg");
    const std::string d = dir_.path();
    ::mkdir((d + "/photos").c_str(), 0755);
    ::mkdir((d + "/photos/sub").c_str(), 0755);
    ::mkdir((d + "/photos/.hidden").c_str(), 0755);
    copy_file(t::fixtures() + "/images/photo.jpg", d + "/photos/b.jpg");
    copy_file(t::skimage("coffee.png"), d + "/photos/a.png");
    copy_file(t::skimage("chelsea.png"), d + "/photos/sub/c.png");
    copy_file(t::skimage("chelsea.png"), d + "/photos/.hidden/h.png");
    copy_file(t::skimage("chelsea.png"), d + "/photos/.dot.png");
    t::write_bytes(d + "/photos/bad.jpg", "not an image\n");
    t::write_bytes(d + "/photos/notes.txt", "skipped: not an image extension\n");
    copy_file(t::fixtures() + "/images/truncated.jpg", d + "/photos/sub/cut.jpg");
  }
  std::vector<std::string> base() { return {"-m", model_, "-k", "3", "--format", "json", "--no-progress"}; }
  std::vector<std::string> with(std::vector<std::string> extra) {
    auto a = base();
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::string p(const std::string& rel) { return dir_.path() + "/photos/" + rel; }
  std::string model_;
  t::TempDir dir_;
};

}  // namespace

TEST_F(Batch, FolderGivesOneRecordPerInputInOrder) {
  const Out r = cli(with({"-r", p("")}));
  EXPECT_EQ(r.code, 1) << "some inputs failed: " << r.err;
  const auto rec = t::json_records(r.out);
  ASSERT_EQ(rec.size(), 5u) << r.out;
  std::vector<std::string> files;
  for (const auto& x : rec) files.push_back(x["file"]);
  // Byte order within each directory; hidden names and non-image extensions skipped.
  EXPECT_EQ(files, (std::vector<std::string>{p("a.png"), p("b.jpg"), p("bad.jpg"), p("sub/c.png"), p("sub/cut.jpg")}));
  std::vector<bool> ok;
  for (const auto& x : rec) ok.push_back(x["ok"]);
  EXPECT_EQ(ok, (std::vector<bool>{true, true, false, true, false}));
  EXPECT_NE(rec[4]["error"].get<std::string>().find("truncated"), std::string::npos);
  EXPECT_NE(r.err.find("5 inputs: 3 classified, 2 failed"), std::string::npos) << r.err;
}

TEST_F(Batch, AllGoodIsExitZeroAndHiddenOnRequest) {
  const Out r = cli(with({"-r", "--hidden", "--ext", "PNG", p("")}));
  EXPECT_EQ(r.code, 0) << r.err;
  std::vector<std::string> files;
  for (const auto& x : t::json_records(r.out)) files.push_back(x["file"]);
  EXPECT_EQ(files, (std::vector<std::string>{p(".dot.png"), p(".hidden/h.png"), p("a.png"), p("sub/c.png")}));
}

TEST_F(Batch, DirectoryWithoutRecursiveIsAnErrorRecord) {
  const Out r = cli(with({p("a.png"), p("sub")}));
  EXPECT_EQ(r.code, 1);
  const auto rec = t::json_records(r.out);
  ASSERT_EQ(rec.size(), 2u);
  EXPECT_TRUE(rec[0]["ok"].get<bool>());
  EXPECT_NE(rec[1]["error"].get<std::string>().find("use -r"), std::string::npos);
}

TEST_F(Batch, SameRecordsAsSingleImageRuns) {
  const Out all = cli(with({"--batch-size", "3", "-r", p("")}));
  ASSERT_EQ(all.code, 1) << all.err;
  const auto batch = t::json_records(all.out);
  ASSERT_EQ(batch.size(), 5u) << all.out;
  int classified = 0;
  for (const auto& rec : batch) {
    const Out one = cli(with({rec["file"].get<std::string>()}));
    EXPECT_EQ(one.code, rec["ok"].get<bool>() ? 0 : 1) << one.err;
    const auto single = t::json_records(one.out);
    ASSERT_EQ(single.size(), 1u);
    EXPECT_EQ(single[0]["ok"], rec["ok"]);
    classified += rec["ok"].get<bool>();
    if (!rec["ok"].get<bool>()) continue;
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(single[0]["predictions"][k]["index"], rec["predictions"][k]["index"]) << rec["file"];
      EXPECT_NEAR(single[0]["predictions"][k]["probability"].get<double>(),
                  rec["predictions"][k]["probability"].get<double>(), 2e-6);
    }
  }
  EXPECT_EQ(classified, 3) << "a.png, b.jpg and sub/c.png are photos";
}

TEST_F(Batch, WorkersKeepInputOrder) {
  std::vector<std::string> many;
  for (int i = 0; i < 23; ++i) many.push_back(i % 3 == 0 ? p("a.png") : i % 3 == 1 ? p("bad.jpg") : p("sub/c.png"));
  auto args = with({"--workers", "3", "--batch-size", "2"});
  args.insert(args.end(), many.begin(), many.end());
  const auto rec = t::json_records(cli(args).out);
  ASSERT_EQ(rec.size(), many.size());
  for (size_t i = 0; i < many.size(); ++i) EXPECT_EQ(rec[i]["file"], many[i]) << i;
}

TEST_F(Batch, ShardsConcatenateToTheWhole) {
  const Out run = cli(with({"-r", p("")}));
  ASSERT_EQ(run.code, 1) << run.err;
  const auto whole = t::json_records(run.out);
  ASSERT_EQ(whole.size(), 5u) << run.out;
  std::vector<std::string> parts;
  for (int k = 1; k <= 3; ++k) {
    const Out part = cli(with({"-r", "--shard", std::to_string(k) + "/3", p("")}));
    EXPECT_TRUE(part.code == 0 || part.code == 1) << "shard " << k << ": " << part.err;
    for (const auto& x : t::json_records(part.out)) parts.push_back(x.dump());
  }
  std::vector<std::string> all;
  for (const auto& x : whole) all.push_back(x.dump());
  std::sort(parts.begin(), parts.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(parts, all);
  EXPECT_EQ(cli(with({"--shard", "4/3", p("a.png")})).code, 2);
  EXPECT_EQ(cli(with({"--shard", "x", p("a.png")})).code, 2);
}

TEST_F(Batch, ResumeAfterATornWriteCompletesWithoutDuplicates) {
  for (const std::string fmt : {"json", "csv", "tsv"}) {
    const std::string full = dir_.file("full." + fmt), part = dir_.file("part." + fmt);
    auto args = with({"-r", p(""), "--format", fmt});
    args.push_back("-o");
    args.push_back(full);
    cli(args);
    const std::string expected = t::read_bytes(full);
    // A killed run: the first records, then half a line.
    const size_t second_nl = expected.find('\n', expected.find('\n') + 1);
    t::write_bytes(part, expected.substr(0, second_nl + 1) + expected.substr(second_nl + 1, 10));
    args.back() = part;
    args.push_back("--resume");
    const Out r = cli(args);
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_EQ(t::read_bytes(part), expected) << fmt;
    EXPECT_NE(r.err.find("torn"), std::string::npos) << r.err;
    // Resuming a complete file adds nothing.
    cli(args);
    EXPECT_EQ(t::read_bytes(part), expected) << fmt;
  }
  EXPECT_EQ(cli(with({"--resume", p("a.png")})).code, 2) << "--resume needs -o";
}

TEST_F(Batch, ResumeAfterSigkill) {
  // The real binary, killed with SIGKILL mid-run, then resumed: every input exactly once.
  std::vector<std::string> list;
  for (int i = 0; i < 300; ++i) list.push_back(i % 2 ? p("a.png") + "\n" : p("sub/c.png") + "\n");
  std::string text;
  for (size_t i = 0; i < list.size(); ++i) {  // distinct names: symlinks to the photos
    const std::string link = dir_.file("in" + std::to_string(i) + ".png");
    ASSERT_EQ(::symlink(list[i].substr(0, list[i].size() - 1).c_str(), link.c_str()), 0);
    text += link + "\n";
  }
  t::write_bytes(dir_.file("list.txt"), text);
  const std::string out = dir_.file("out.jsonl");
  const std::string cmd = std::string(VIT_BINARY) + " -q -m '" + model_ +
                          "' --format json --batch-size 4 --files-from '" + dir_.file("list.txt") + "' -o '" + out +
                          "'";
  kill_once_writing(cmd, out, SIGKILL);
  const size_t before = t::json_records(t::read_bytes(out).substr(0, t::read_bytes(out).rfind('\n') + 1)).size();
  ASSERT_EQ(std::system((cmd + " --resume").c_str()), 0);
  const auto rec = t::json_records(t::read_bytes(out));
  ASSERT_EQ(rec.size(), 300u) << "killed after " << before << " records";
  std::vector<std::string> files;
  for (const auto& x : rec) files.push_back(x["file"]);
  std::sort(files.begin(), files.end());
  EXPECT_EQ(std::unique(files.begin(), files.end()), files.end()) << "no duplicates";
}

TEST_F(Batch, FilesFromStdinWithOddNames) {
  const std::vector<std::string> names{"with space.png", "new\nline.png", std::string("bad\xff\xfe utf8.png"),
                                       "ok.png"};
  std::string nul_list, nl_list;
  for (const auto& n : names) {
    copy_file(p("a.png"), dir_.file(n));
    nul_list += dir_.file(n) + '\0';
    if (n.find('\n') == std::string::npos) nl_list += dir_.file(n) + "\n";
  }
  Out r = cli(with({"--files-from", "-", "-0"}), nul_list);
  EXPECT_EQ(r.code, 0) << r.err;
  auto rec = t::json_records(r.out);
  ASSERT_EQ(rec.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_TRUE(rec[i]["ok"].get<bool>()) << rec[i].dump();
    const std::string key = record_key(dir_.file(names[i]), RecordFormat::Json);
    if (rec[i].contains("file_hex"))
      EXPECT_EQ("hex:" + rec[i]["file_hex"].get<std::string>(), key) << "lossless for names that are not UTF-8";
    else
      EXPECT_EQ(json(rec[i]["file"]).dump(), key);
  }
  const std::string odd = dir_.file(names[2]);
  EXPECT_EQ(rec[2]["file_hex"], hex_bytes(odd.data(), odd.size()));
  EXPECT_NE(rec[2]["file"].get<std::string>().find("\xef\xbf\xbd"), std::string::npos) << "invalid UTF-8 -> U+FFFD";
  r = cli(with({"--files-from", "-"}), nl_list + "\n");  // blank lines are ignored
  EXPECT_EQ(t::json_records(r.out).size(), names.size() - 1);
  t::write_bytes(dir_.file("list.txt"), nl_list);
  EXPECT_EQ(t::json_records(cli(with({"--files-from", dir_.file("list.txt")})).out).size(), names.size() - 1);
  EXPECT_EQ(cli(with({"--files-from", dir_.file("nope.txt")})).code, 2);
}

TEST_F(Batch, SymlinkLoopIsDetected) {
  ASSERT_EQ(::symlink("..", p("sub/up").c_str()), 0);  // photos/sub/up -> photos
  const Out r = cli(with({"-r", p("")}));
  EXPECT_EQ(t::json_records(r.out).size(), 5u);
  EXPECT_NE(r.err.find("symlink loop"), std::string::npos) << r.err;
}

TEST_F(Batch, CsvAndTsvOneRowPerInput) {
  for (const std::string fmt : {"csv", "tsv"}) {
    const Out r = cli(with({"-r", p(""), "--format", fmt}));
    std::istringstream in(r.out);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) ++n;
    EXPECT_EQ(n, 6) << fmt << ": header + 5 inputs";
  }
}

TEST(Inputs, ParseHelpers) {
  const Shard s = parse_shard("3/16");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 16);
  EXPECT_THROW(parse_shard("0/4"), UsageError);
  EXPECT_THROW(parse_shard("5/4"), UsageError);
  EXPECT_THROW(parse_shard("1/"), UsageError);
  EXPECT_EQ(parse_extensions({"JPG", " .png"}), (std::vector<std::string>{"jpg", "png"}));
  EXPECT_THROW(parse_extensions({"", ""}), UsageError);
}

// --progress into something that is not a terminal: plain lines, no carriage returns or
// escape codes; the total comes from counting the folder ahead.
TEST_F(Batch, ProgressGoesToStderrOnly) {
  const Out r = cli({"-m", model_, "--format", "json", "--progress", "-r", p("")});
  EXPECT_NE(r.err.find("vit-classify: progress 5/5 (100%), "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("\x1b"), std::string::npos) << r.err;
  for (const auto& x : t::json_records(r.out)) EXPECT_TRUE(x.contains("file"));
  EXPECT_EQ(r.out.find('\r'), std::string::npos);
  EXPECT_EQ(r.out.find("progress"), std::string::npos);
  EXPECT_EQ(cli({"-m", model_, "--format", "json", "--progress", "-q", p("a.png")}).err, "") << "-q: no progress";
}

// On a terminal: one line redrawn in place with done/total, percent, rate and ETA.
TEST(Progress, TerminalLineShowsTotalPercentRateAndEta) {
  InputOptions io;
  for (int i = 0; i < 8; ++i) io.paths.push_back("/nonexistent/" + std::to_string(i) + ".jpg");
  InputCounter counter(io);
  for (int i = 0; i < 200 && !counter.total(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(counter.total(), std::optional<size_t>(8));
  std::ostringstream err;
  ProgressBar bar(err, ProgressBar::Style::Terminal, &counter);
  ClassifySummary s;
  s.images = 2;
  s.seconds = 1.0;
  bar.update(s);
  EXPECT_EQ(err.str(), "\r[=====>              ] 2/8  25%  2.0 images/s  ETA 0m03s\x1b[K");
  InputOptions from_stdin;
  from_stdin.files_from = "-";
  EXPECT_FALSE(InputCounter(from_stdin).total().has_value()) << "standard input cannot be counted ahead";
}

// The list is a FIFO that the test holds open, so the run cannot finish before the signal (this
// test cannot pass by a run that ended first): Ctrl-C must also end its wait for more lines.
// Then --resume, fed the rest of the list, completes the job to one plain run's records.
TEST_F(Batch, SigintWritesWholeRecordsAndExits130) {
  std::string text;  // distinct names (a link each), so that --resume knows each line
  for (int i = 0; i < 24; ++i) {
    const std::string link = dir_.file("in" + std::to_string(i) + ".png");
    ASSERT_EQ(::symlink(p(i % 2 ? "a.png" : "sub/c.png").c_str(), link.c_str()), 0);
    text += link + "\n";
  }
  const std::string fifo = dir_.file("list.fifo"), out = dir_.file("out.jsonl");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    execl(VIT_BINARY, VIT_BINARY, "-q", "-m", model_.c_str(), "-k", "3", "--format", "json", "--batch-size", "4",
          "--files-from", fifo.c_str(), "-o", out.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  const int writer = ::open(fifo.c_str(), O_WRONLY);  // waits for the run to open its end
  ASSERT_GE(writer, 0);
  ASSERT_EQ(::write(writer, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  for (int i = 0; i < 1500 && t::json_records(t::read_bytes(out)).size() < 24; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // No thread of the run may take SIGINT or SIGTERM in a handler (a signal frame written while a
  // thread is in oneDNN's JIT GEMM corrupts the heap: see watch_stop_signals): all block them but
  // the watcher, which takes them with sigwait (the kernel unblocks them while it waits).
  int threads = 0, watchers = 0;
  if (DIR* tasks = ::opendir(("/proc/" + std::to_string(pid) + "/task").c_str())) {
    while (const dirent* e = ::readdir(tasks)) {
      if (e->d_name[0] == '.') continue;
      const std::string task = "/proc/" + std::to_string(pid) + "/task/" + e->d_name;
      if (t::read_bytes(task + "/comm") == "vit-signals\n") {
        ++watchers;
        continue;
      }
      std::istringstream status(t::read_bytes(task + "/status"));
      for (std::string line; std::getline(status, line);)
        if (line.rfind("SigBlk:", 0) == 0) {
          const unsigned long long blocked = std::stoull(line.substr(7), nullptr, 16);
          EXPECT_TRUE(blocked & (1ULL << (SIGINT - 1))) << "thread " << e->d_name << " takes SIGINT: " << line;
          EXPECT_TRUE(blocked & (1ULL << (SIGTERM - 1))) << "thread " << e->d_name << " takes SIGTERM: " << line;
          ++threads;
        }
    }
    ::closedir(tasks);
  }
  EXPECT_GE(threads, 1) << "the run's threads were not found in /proc";
  EXPECT_EQ(watchers, 1);
  ::kill(pid, SIGINT);
  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 1500 && (done = ::waitpid(pid, &status, WNOHANG)) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (done == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    ::close(writer);
    FAIL() << "the run did not stop within 30 s of SIGINT while its list was still open";
  }
  ::close(writer);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 130);
  const std::string data = t::read_bytes(out);
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data.back(), '\n') << "no torn line";
  EXPECT_EQ(t::json_records(data).size(), 24u) << "the lines that had come were classified, in whole batches";

  // The rest of the list, through --resume, and the result equals one plain run.
  for (int i = 24; i < 30; ++i) {
    const std::string link = dir_.file("in" + std::to_string(i) + ".png");
    ASSERT_EQ(::symlink(p("b.jpg").c_str(), link.c_str()), 0);
    text += link + "\n";
  }
  t::write_bytes(dir_.file("list.txt"), text);
  const Out resumed = cli(with({"--files-from", dir_.file("list.txt"), "-o", out, "--resume"}));
  EXPECT_EQ(resumed.code, 0) << resumed.err;
  const Out plain = cli(with({"--files-from", dir_.file("list.txt")}));
  ASSERT_EQ(plain.code, 0) << plain.err;
  const auto want = t::json_records(plain.out), got = t::json_records(t::read_bytes(out));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i]["file"], want[i]["file"]);
    EXPECT_EQ(got[i]["predictions"][0]["index"], want[i]["predictions"][0]["index"]) << got[i]["file"];
  }
}

// A reader that stops reading (`vit-classify ... | head -1`) is a write error, exit 5 as README's
// table says, with a message; not a silent death by SIGPIPE (141).
TEST_F(Batch, AClosedStandardOutputExits5) {
  std::string text;
  for (int i = 0; i < 400; ++i) text += p(i % 2 ? "a.png" : "sub/c.png") + "\n";
  t::write_bytes(dir_.file("list.txt"), text);
  const std::string cmd = "bash -c \"'" + std::string(VIT_BINARY) + "' -m '" + model_ +
                          "' --batch-size 1 --no-progress --files-from '" + dir_.file("list.txt") + "' 2>'" +
                          dir_.file("err.txt") + "' | head -n 1 >/dev/null; echo exit \\${PIPESTATUS[0]}\"";
  std::string result;
  if (FILE* f = ::popen(cmd.c_str(), "r")) {
    char buf[256];
    while (size_t n = std::fread(buf, 1, sizeof buf, f)) result.append(buf, n);
    ::pclose(f);
  }
  EXPECT_EQ(result, "exit 5\n");
  EXPECT_NE(t::read_bytes(dir_.file("err.txt")).find("standard output"), std::string::npos)
      << t::read_bytes(dir_.file("err.txt"));
}

// 21 folders, each with two links to the next: no loop, but 2^20 paths to the last folder's photo.
// Each folder is walked once, so the photo is classified once (it used to run for ever).
TEST_F(Batch, AFolderReachedByManyLinksIsWalkedOnce) {
  const std::string root = dir_.file("graph");
  for (int i = 0; i <= 20; ++i) ASSERT_EQ(::mkdir((root + std::to_string(i)).c_str(), 0755), 0);
  for (int i = 0; i < 20; ++i)
    for (const char* name : {"/a", "/b"})
      ASSERT_EQ(::symlink((root + std::to_string(i + 1)).c_str(), (root + std::to_string(i) + name).c_str()), 0);
  copy_file(p("a.png"), root + "20/photo.png");
  const Out r = cli(with({"-r", root + "0"}));
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(t::json_records(r.out).size(), 1u) << r.out.substr(0, 2000);
}

TEST_F(Batch, UnreasonableInputsAreRefusedCleanly) {
  // A 1 x 200000 sliver resized to a shorter side of 35 (this 32 px model) would be 35 x 7
  // million pixels (700 MB): only the 32 x 32 crop is computed, and it is classified.
  cv::Mat sliver(200000, 1, CV_8UC3, cv::Scalar(10, 20, 30));
  ASSERT_TRUE(cv::imwrite(p("sliver.png"), sliver));
  const Out r = cli(with({"--preset", "timm", p("sliver.png"), p("a.png")}));
  EXPECT_EQ(r.code, 0) << r.err;
  const auto rec = t::json_records(r.out);
  ASSERT_EQ(rec.size(), 2u);
  EXPECT_TRUE(rec[0]["ok"].get<bool>()) << rec[0].dump();
  EXPECT_TRUE(rec[1]["ok"].get<bool>());
}

// Hostile inputs in a batch (from the hardening issue): each gets its record, the run goes on.
// A huge resize followed by a crop computes only the crop (it used to abort the run with
// OpenCV's out-of-memory error); Preprocess.ExtremeAspectRatioCostsOnlyTheCrop has the rest.
TEST_F(Batch, HugeExactResizeThenCropCostsOnlyTheCrop) {
  const Out r = cli(with({"--resize", "999999x999999", "--crop", "32", p("a.png"), p("b.jpg")}));
  EXPECT_EQ(r.code, 0) << r.err;
  const auto rec = t::json_records(r.out);
  ASSERT_EQ(rec.size(), 2u) << r.out;
  for (const auto& x : rec) EXPECT_TRUE(x["ok"].get<bool>()) << x;
}

TEST_F(Batch, OversizedFileIsAnErrorRecord) {
  t::write_bytes(p("huge.jpg"), "");
  ASSERT_EQ(::truncate(p("huge.jpg").c_str(), off_t{2} << 30), 0);  // 2 GiB, sparse
  const Out r = cli(with({p("huge.jpg"), p("a.png")}));
  EXPECT_EQ(r.code, 1) << r.err;
  const auto rec = t::json_records(r.out);
  ASSERT_EQ(rec.size(), 2u) << r.out;
  EXPECT_NE(rec[0]["error"].get<std::string>().find("over the 1024 MiB"), std::string::npos) << rec[0];
  EXPECT_TRUE(rec[1]["ok"].get<bool>());
}

TEST_F(Batch, FifoDeviceAndLoopInAFolderGetRecordsWithoutHanging) {
  ASSERT_EQ(::mkdir(dir_.file("odd").c_str(), 0755), 0);
  ASSERT_EQ(::mkfifo(dir_.file("odd/pipe.jpg").c_str(), 0600), 0);
  ASSERT_EQ(::symlink("/dev/zero", dir_.file("odd/zero.png").c_str()), 0);
  ASSERT_EQ(::symlink("loop", dir_.file("odd/loop").c_str()), 0);  // ELOOP when looked at
  copy_file(p("a.png"), dir_.file("odd/photo.png"));
  const std::string out = dir_.file("odd.jsonl");
  const int status = std::system(("timeout 60 " + std::string(VIT_BINARY) + " -q -m '" + model_ +
                                  "' --format json -r '" + dir_.file("odd") + "' > '" + out + "'")
                                     .c_str());
  ASSERT_EQ(WEXITSTATUS(status), 1) << "124 means it hung";
  std::map<std::string, json> by_name;
  for (const auto& x : t::json_records(t::read_bytes(out))) by_name[x["file"].get<std::string>()] = x;
  ASSERT_EQ(by_name.size(), 4u) << t::read_bytes(out);
  EXPECT_NE(by_name[dir_.file("odd/pipe.jpg")]["error"].get<std::string>().find("not a regular file"),
            std::string::npos);
  EXPECT_NE(by_name[dir_.file("odd/zero.png")]["error"].get<std::string>().find("not a regular file"),
            std::string::npos);
  EXPECT_NE(by_name[dir_.file("odd/loop")]["error"].get<std::string>().find("symbolic links"), std::string::npos);
  EXPECT_TRUE(by_name[dir_.file("odd/photo.png")]["ok"].get<bool>());
}

// --resume reads a records file: never a device or FIFO (-o /dev/zero was read for ever), and a
// large one without copies of it (a 297 MB file took 1.12 GB: the bytes, a substring of them and
// a stream of that).
TEST_F(Batch, ResumeReadsOnlyFilesAndNoCopiesOfThem) {
  const Out dev = cli(with({p("a.png"), "-o", "/dev/zero", "--resume"}));
  EXPECT_EQ(dev.code, 2) << dev.err;
  EXPECT_NE(dev.err.find("not a regular file"), std::string::npos) << dev.err;

  // 40,000 records of 2 KB (80 MB), each an error record of an input not given now.
  const std::string records = dir_.file("big.jsonl");
  {
    std::ofstream f(records, std::ios::binary);
    const std::string filler(2000, 'x');
    for (int i = 0; i < 40000; ++i)
      f << "{\"file\":\"/gone/" << i << ".png\",\"ok\":false,\"error\":\"" << filler << "\"}\n";
  }
  const auto size_mb = static_cast<long>(t::read_bytes(records).size() >> 20);
  const std::string plain_out = dir_.file("plain.jsonl");
  const auto alone = t::run_binary(with({p("a.png"), "-o", plain_out}), dir_.path());
  ASSERT_EQ(alone.code, 0) << alone.err;
  const auto resumed = t::run_binary(with({p("a.png"), "-o", records, "--resume"}), dir_.path());
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  std::printf("[ measured ] peak RSS: a run %ld MB, resuming a %ld MB records file %ld MB\n", alone.peak_rss_mb,
              size_mb, resumed.peak_rss_mb);
  EXPECT_LT(resumed.peak_rss_mb, alone.peak_rss_mb + size_mb * 3 / 2);
}

TEST_F(Batch, ResumeLeavesForeignFilesAlone) {
  const std::string notes = dir_.file("notes.txt"), jsonl = dir_.file("out.jsonl");
  t::write_bytes(notes, "my thesis, no newline at the end");
  Out r = cli(with({"-o", notes, "--resume", p("a.png")}));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not vit-classify output"), std::string::npos) << r.err;
  EXPECT_EQ(t::read_bytes(notes), "my thesis, no newline at the end") << "never truncated";
  ASSERT_EQ(cli(with({"-o", jsonl, p("a.png")})).code, 0);
  const std::string ours = t::read_bytes(jsonl);
  t::write_bytes(jsonl, ours + "PK\x03\x04 something else");
  r = cli(with({"-o", jsonl, "--resume", p("a.png"), p("b.jpg")}));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not the start of a record"), std::string::npos) << r.err;
  EXPECT_EQ(t::read_bytes(jsonl), ours + "PK\x03\x04 something else");
}

// Decompression bombs: small files whose headers claim 30000x30000 pixels are refused before
// decoding (each an error record naming its size), and the photos beside them are classified.
TEST_F(Batch, DecompressionBombsAreRefusedBeforeDecoding) {
  auto u32be = [](uint32_t v) { return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; };
  auto le = [](uint32_t v, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += char(i < 4 ? (v >> (8 * i)) & 0xFF : 0);
    return s;
  };
  ASSERT_EQ(::mkdir(dir_.file("bombs").c_str(), 0755), 0);
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + u32be(13) + "IHDR" + u32be(30000) + u32be(30000) +
                          std::string("\x08\x02\x00\x00\x00", 5) + u32be(0) + std::string(64, '\0');
  t::write_bytes(dir_.file("bombs/bomb.png"), png);
  std::string jpeg = t::read_bytes(t::fixtures() + "/images/photo.jpg");
  const size_t sof = jpeg.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  jpeg.replace(sof + 5, 4, std::string("\x75\x30\x75\x30", 4));  // height, width = 30000
  t::write_bytes(dir_.file("bombs/bomb.jpg"), jpeg);
  t::write_bytes(dir_.file("bombs/bomb.bmp"), "BM" + le(0, 16) + le(30000, 4) + le(30000, 4) + std::string(64, '\0'));
  t::write_bytes(dir_.file("bombs/bomb.webp"), "RIFF" + le(100, 4) + "WEBPVP8X" + le(10, 4) + le(0, 4) + le(29999, 3) +
                                                   le(29999, 3) + std::string(64, '\0'));
  copy_file(p("a.png"), dir_.file("bombs/good-a.png"));
  copy_file(p("b.jpg"), dir_.file("bombs/good-b.jpg"));
  const Out r = cli(with({"-r", dir_.file("bombs")}));
  EXPECT_EQ(r.code, 1) << r.err;
  const auto rec = t::json_records(r.out);
  ASSERT_EQ(rec.size(), 6u) << r.out;
  for (const auto& x : rec) {
    const std::string f = x["file"];
    if (f.find("good") != std::string::npos) {
      EXPECT_TRUE(x["ok"].get<bool>()) << x;
    } else {
      EXPECT_NE(x["error"].get<std::string>().find("30000x30000 = 900 megapixels"), std::string::npos) << x;
    }
  }
  const Out small_limit = cli(with({"--max-pixels", "1000", p("a.png")}));
  EXPECT_NE(t::json_records(small_limit.out).at(0)["error"].get<std::string>().find("--max-pixels"), std::string::npos);
}

// Two runs on one -o file: the second is refused while the first holds the file's lock.
TEST_F(Batch, SecondWriterOfAnOutputFileIsRefused) {
  const std::string out = dir_.file("shared.jsonl");
  ASSERT_EQ(cli(with({"-o", out, p("a.png")})).code, 0);
  const int fd = ::open(out.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);  // as a running vit-classify holds it
  const std::string before = t::read_bytes(out);
  const Out r = cli(with({"-o", out, "--resume", p("a.png"), p("b.jpg")}));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("another vit-classify run"), std::string::npos) << r.err;
  EXPECT_EQ(t::read_bytes(out), before);
  ::close(fd);
  EXPECT_EQ(cli(with({"-o", out, "--resume", p("a.png"), p("b.jpg")})).code, 0) << "free again";
  EXPECT_EQ(t::json_records(t::read_bytes(out)).size(), 2u);
}

// Two names that differ only in bytes that are not UTF-8 are two inputs to --resume.
TEST_F(Batch, ResumeKeepsNamesThatAreNotUtf8Apart) {
  const std::string a = dir_.file(std::string("x\xff.png")), b = dir_.file(std::string("x\xfe.png"));
  copy_file(p("a.png"), a);
  copy_file(p("a.png"), b);
  const std::string out = dir_.file("out.jsonl");
  ASSERT_EQ(cli(with({"-o", out, a})).code, 0);
  const Out r = cli(with({"-o", out, "--resume", a, b}));
  EXPECT_EQ(r.code, 0) << r.err;
  const auto rec = t::json_records(t::read_bytes(out));
  ASSERT_EQ(rec.size(), 2u) << "the second name was skipped as if recorded";
  EXPECT_EQ(rec[0]["file"], rec[1]["file"]) << "both show as x\\ufffd.png";
  EXPECT_NE(rec[0]["file_hex"], rec[1]["file_hex"]);
}
