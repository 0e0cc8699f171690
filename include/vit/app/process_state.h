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
// Where main() called watch_stop_signals() (the command does), the signals are taken by its
// watcher thread and no handler ever runs on another thread; elsewhere (a program using the
// library, the tests) a handler is installed for the object's lifetime.
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

// Called first thing by main(), before any other thread exists: SIGINT and SIGTERM are blocked in
// every thread (threads inherit the mask) and one watcher thread takes them with sigwait. A
// signal handler must never run on a thread inside oneDNN's JIT GEMM kernels: Debian's oneDNN
// 2.6 points rsp into a heap buffer there, and the kernel's signal frame is written over the
// heap (glibc "corrupted size vs. prev_size", oneDNN issue #4845, fixed in oneDNN 3.x). With no
// ScopedStopSignals alive, or at a second signal, the watcher ends the process with the signal's
// default action, as if nothing were blocked.
void watch_stop_signals();

// glibc's heap kept for large blocks (see process_state.cpp); called once by main().
void tune_allocator();

// SIGPIPE ignored: a closed standard output is a write error (exit 5), not a silent death (141).
void ignore_broken_pipes();

// Ends the process with `status` once the command returned: flushes the C and C++ streams and
// the loggers, then _Exit, skipping the libraries' static destructors: LibTorch's unregister
// every operator one by one, 8-10% of a one-photo classify's CPU on a Zen 3 (perf), to free
// memory the kernel frees anyway. Every file the command wrote is closed by then
// (RAII inside run_cli). Sanitizer builds exit normally, so that LeakSanitizer still runs.
[[noreturn]] void end_process(int status);

}  // namespace vit
