// Process-wide state belongs to the app, never to the library: the default logger, LibTorch's
// math threads, signal handlers and allocator tuning. Each Scoped* object sets one for its
// lifetime and restores what was there before.
#pragma once

#include <atomic>
#include <csignal>
#include <iosfwd>
#include <memory>

namespace spdlog {
class logger;
}

namespace vit {

// spdlog's default logger writing "vit-classify: LEVEL: message" lines to err, at warn
// (verbose 1: info, 2: debug; quiet: errors only).
class ScopedLogger {
 public:
  ScopedLogger(std::ostream& err, int verbose, bool quiet);
  ~ScopedLogger();
  ScopedLogger(const ScopedLogger&) = delete;
  ScopedLogger& operator=(const ScopedLogger&) = delete;

 private:
  std::shared_ptr<spdlog::logger> previous_;
};

// LibTorch's intra-op math threads (0 = one per core).
class ScopedMathThreads {
 public:
  explicit ScopedMathThreads(int threads);
  ~ScopedMathThreads();
  ScopedMathThreads(const ScopedMathThreads&) = delete;
  ScopedMathThreads& operator=(const ScopedMathThreads&) = delete;
  int threads() const { return threads_; }

 private:
  int previous_, threads_;
};

// SIGINT and SIGTERM set stop() instead of killing the process; a second signal kills at once.
class ScopedStopSignals {
 public:
  ScopedStopSignals();
  ~ScopedStopSignals();
  ScopedStopSignals(const ScopedStopSignals&) = delete;
  ScopedStopSignals& operator=(const ScopedStopSignals&) = delete;
  const std::atomic<bool>& stop() const;

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

// glibc's heap kept for large blocks (see process_state.cpp); called once by main().
void tune_allocator();

// SIGPIPE ignored: a closed standard output is a write error (exit 5), not a silent death (141).
void ignore_broken_pipes();

}  // namespace vit
