// The text-embedding cache (src/io/embedding_cache.cpp): a round trip, then files that are
// damaged or planted (wrong dims, truncated, a flipped byte, NaN, links, a FIFO), bad keys,
// and where the cache folder is.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <sstream>

#include "hub_test_util.h"
#include "test_util.h"
#include "vit/errors.h"
#include "vit/io/embedding_cache.h"
#include "vit/io/sha256.h"

namespace vit::test {
namespace {

const std::string kKey(64, 'a');

// 3 x 4 floats, distinct, with a negative zero and a subnormal (kept bit for bit).
std::vector<float> sample() {
  return {0.5f, -1.25f, 3.0e-39f, -0.0f, 1e30f, -7.0f, 0.1f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
}

// The spdlog warnings of the object's life, as text.
class CapturedLog {
 public:
  CapturedLog() : old_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("captured", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(old_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> old_;
};

class EmbeddingCache : public ::testing::Test {
 protected:
  std::string dir() const { return tmp_.file("cache"); }
  std::string file() const { return dir() + "/" + kKey + ".f32"; }
  void write_sample() { ASSERT_TRUE(write_embeddings(dir(), kKey, 3, 4, sample())); }
  // read_embeddings of 3 x 4 is refused, with a warning that names the file and `why`.
  void expect_refused(const std::string& why, int64_t rows = 3, int64_t cols = 4) {
    CapturedLog log;
    EXPECT_FALSE(read_embeddings(dir(), kKey, rows, cols).has_value()) << why;
    EXPECT_NE(log.text().find(file()), std::string::npos) << log.text();
    EXPECT_NE(log.text().find(why), std::string::npos) << log.text();
  }
  TempDir tmp_;
};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), 4 * a.size()) == 0;
}

TEST_F(EmbeddingCache, RoundTrip) {
  EXPECT_FALSE(read_embeddings(dir(), kKey, 3, 4).has_value());  // absent: a miss, no folder made
  EXPECT_FALSE(path_exists(dir()));
  write_sample();
  const auto back = read_embeddings(dir(), kKey, 3, 4);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(same_bits(*back, sample()));
  // The layout: magic, dims, floats little-endian, the SHA-256 of what comes before.
  const std::string bytes = read_bytes(file());
  ASSERT_EQ(bytes.size(), 24u + 48u + 32u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("VITEMB1\0", 8));
  EXPECT_EQ(bytes.substr(8, 16), std::string("\3\0\0\0\0\0\0\0\4\0\0\0\0\0\0\0", 16));
  EXPECT_EQ(bytes.substr(24, 4), std::string("\0\0\0\x3f", 4));  // 0.5f
  EXPECT_EQ(hex_bytes(bytes.data() + 72, 32), sha256_hex(bytes.data(), 72));
  // Private folder and file; no temporary file left behind; a second write replaces the first.
  struct stat st {};
  ASSERT_EQ(::stat(dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::vector<float> other(12, 9.0f);
  ASSERT_TRUE(write_embeddings(dir() + "/", kKey, 3, 4, other));
  EXPECT_TRUE(same_bits(*read_embeddings(dir(), kKey, 3, 4), other));
  EXPECT_EQ(std::system(("test $(ls -A '" + dir() + "' | wc -l) = 1").c_str()), 0);
  // Parents are made as needed; "" is no cache.
  EXPECT_TRUE(write_embeddings(tmp_.file("a/b/c"), kKey, 3, 4, other));
  EXPECT_FALSE(write_embeddings("", kKey, 3, 4, other));
  EXPECT_FALSE(read_embeddings("", kKey, 3, 4).has_value());
}

TEST_F(EmbeddingCache, WrongDimsAreAMiss) {
  write_sample();
  expect_refused("holds 3 x 4 embeddings, not 4 x 3", 4, 3);  // the same size, other dims
  expect_refused("not the", 2, 4);                            // another size
}

TEST_F(EmbeddingCache, TruncatedOrGrownFileIsAMiss) {
  write_sample();
  const std::string bytes = read_bytes(file());
  write_bytes(file(), bytes.substr(0, bytes.size() - 1));
  expect_refused("bytes long, not the 104");
  write_bytes(file(), "");
  expect_refused("is 0 bytes long");
  write_bytes(file(), bytes + "x");
  expect_refused("is 105 bytes long");
}

TEST_F(EmbeddingCache, FlippedByteFailsTheDigest) {
  write_sample();
  const std::string good = read_bytes(file());
  for (const size_t at : {size_t{30}, size_t{70}, size_t{90}}) {  // a float, the last float, the digest
    std::string bytes = good;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
    write_bytes(file(), bytes);
    expect_refused("does not match its SHA-256");
  }
  std::string bytes = good;
  bytes[0] = 'X';
  write_bytes(file(), bytes);
  expect_refused("magic");
}

TEST_F(EmbeddingCache, NonFinitePayloadIsAMissEvenWithAGoodDigest) {
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    auto values = sample();
    values[5] = bad;
    // A file as a hostile writer would make it: right layout, right digest.
    std::string bytes("VITEMB1\0", 8);
    bytes += std::string("\3\0\0\0\0\0\0\0\4\0\0\0\0\0\0\0", 16);
    bytes.append(reinterpret_cast<const char*>(values.data()), 4 * values.size());
    const std::string hex = sha256_hex(bytes.data(), bytes.size());
    for (size_t i = 0; i < hex.size(); i += 2) bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), 0, 16)));
    ::mkdir(dir().c_str(), 0700);
    write_bytes(file(), bytes);
    expect_refused("not a finite number (at float 5)");
    // Nor is such a value written.
    CapturedLog log;
    EXPECT_FALSE(write_embeddings(dir(), kKey, 3, 4, values));
    EXPECT_NE(log.text().find("float 5 is not a finite number"), std::string::npos) << log.text();
  }
}

TEST_F(EmbeddingCache, BadKeysAndDimsAreErrors) {
  for (const std::string& key : std::vector<std::string>{
           "../x", std::string(64, 'A'), std::string(63, 'a'), std::string(65, 'a'), "../" + std::string(61, 'a'),
           std::string(63, 'a') + "/", std::string(63, 'a') + "g", std::string(63, 'a') + '\0', std::string()}) {
    EXPECT_THROW(read_embeddings(dir(), key, 3, 4), Error) << key;
    EXPECT_THROW(write_embeddings(dir(), key, 3, 4, sample()), Error) << key;
  }
  EXPECT_FALSE(path_exists(dir()));
  EXPECT_THROW(read_embeddings(dir(), kKey, 0, 4), Error);
  EXPECT_THROW(read_embeddings(dir(), kKey, 3, -1), Error);
  EXPECT_THROW(read_embeddings(dir(), kKey, kMaxCachedFloats, 2), Error);
  EXPECT_THROW(read_embeddings(dir(), kKey, int64_t{1} << 40, int64_t{1} << 40), Error);  // rows*cols overflows
  EXPECT_THROW(write_embeddings(dir(), kKey, 3, 5, sample()), Error);                     // 12 floats, not 15
  EXPECT_TRUE(is_embedding_key(std::string(32, 'f') + std::string(32, '0')));
  EXPECT_FALSE(is_embedding_key(std::string(64, 'g')));
}

TEST_F(EmbeddingCache, SymlinkedFileIsRefused) {
  write_sample();
  const std::string real = tmp_.file("elsewhere.f32");
  ASSERT_EQ(std::rename(file().c_str(), real.c_str()), 0);
  ASSERT_EQ(::symlink(real.c_str(), file().c_str()), 0);
  expect_refused("is a symbolic link");
  CapturedLog log;
  EXPECT_FALSE(write_embeddings(dir(), kKey, 3, 4, std::vector<float>(12, 1.0f)));
  EXPECT_NE(log.text().find("symbolic link"), std::string::npos) << log.text();
  EXPECT_TRUE(lexists(file()));              // the link is left alone
  EXPECT_EQ(read_bytes(real).size(), 104u);  // and its target unchanged
}

TEST_F(EmbeddingCache, SymlinkedFolderIsRefused) {
  const std::string real = tmp_.file("real");
  ASSERT_TRUE(write_embeddings(real, kKey, 3, 4, sample()));
  ASSERT_EQ(::symlink(real.c_str(), dir().c_str()), 0);
  expect_refused("symbolic link");
  {
    CapturedLog log;
    EXPECT_FALSE(read_embeddings(dir() + "/", kKey, 3, 4).has_value());  // a trailing slash does not follow it
    EXPECT_NE(log.text().find("symbolic link"), std::string::npos) << log.text();
  }
  CapturedLog log;
  EXPECT_FALSE(write_embeddings(dir(), kKey, 3, 4, std::vector<float>(12, 1.0f)));
  EXPECT_NE(log.text().find("symbolic link"), std::string::npos) << log.text();
  EXPECT_TRUE(same_bits(*read_embeddings(real, kKey, 3, 4), sample()));  // nothing written through it
  // A link above the cache folder is the user's own and followed.
  const std::string above = tmp_.file("above");
  ASSERT_EQ(::symlink(tmp_.path().c_str(), above.c_str()), 0);
  EXPECT_TRUE(read_embeddings(above + "/real", kKey, 3, 4).has_value());
}

TEST_F(EmbeddingCache, FifoDoesNotHang) {
  ASSERT_EQ(::mkdir(dir().c_str(), 0700), 0);
  ASSERT_EQ(::mkfifo(file().c_str(), 0600), 0);
  // Run where a hang is seen: after 10 s the FIFO is opened here, which releases a blocked open.
  auto read = std::async(std::launch::async, [&] {
    CapturedLog log;
    const bool hit = read_embeddings(dir(), kKey, 3, 4).has_value();
    const bool written = write_embeddings(dir(), kKey, 3, 4, sample());
    return std::make_tuple(hit, written, log.text());
  });
  if (read.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "the cache blocked on a FIFO";
    const int fd = ::open(file().c_str(), O_RDWR | O_NONBLOCK);
    read.wait();
    ::close(fd);
    return;
  }
  const auto [hit, written, text] = read.get();
  EXPECT_FALSE(hit);
  EXPECT_FALSE(written);
  EXPECT_NE(text.find("is not a regular file"), std::string::npos) << text;
  EXPECT_NE(text.find("the path is not a regular file"), std::string::npos) << text;
}

TEST(EmbeddingCacheDir, EnvironmentPrecedence) {
  ScopedEnv own("VIT_CLASSIFY_CACHE", "/own/cache"), xdg("XDG_CACHE_HOME", "/xdg"), home("HOME", "/home/someone");
  EXPECT_EQ(embedding_cache_dir(), "/own/cache");
  {
    ScopedEnv empty("VIT_CLASSIFY_CACHE", "");  // empty counts as unset
    EXPECT_EQ(embedding_cache_dir(), "/xdg/vit-classify/text-embeddings");
    ScopedEnv no_xdg("XDG_CACHE_HOME", nullptr);
    EXPECT_EQ(embedding_cache_dir(), "/home/someone/.cache/vit-classify/text-embeddings");
    ScopedEnv empty_xdg("XDG_CACHE_HOME", "");
    EXPECT_EQ(embedding_cache_dir(), "/home/someone/.cache/vit-classify/text-embeddings");
    // No HOME: the password database's home, as the hub's cache does.
    ScopedEnv no_home("HOME", nullptr);
    const passwd* pw = ::getpwuid(::getuid());
    EXPECT_EQ(embedding_cache_dir(),
              pw && pw->pw_dir && *pw->pw_dir ? std::string(pw->pw_dir) + "/.cache/vit-classify/text-embeddings" : "");
  }
  {
    ScopedEnv tilde("VIT_CLASSIFY_CACHE", "~/emb");
    EXPECT_EQ(embedding_cache_dir(), "/home/someone/emb");
    ScopedEnv no_own("VIT_CLASSIFY_CACHE", nullptr), xdg_tilde("XDG_CACHE_HOME", "~/xc");
    EXPECT_EQ(embedding_cache_dir(), "/home/someone/xc/vit-classify/text-embeddings");
  }
}

}  // namespace
}  // namespace vit::test
