// Process-wide state; see include/vit/app/process_state.h.
#include "vit/app/process_state.h"

#include <malloc.h>
#include <pthread.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "vit/model/runtime.h"

namespace vit {

ScopedLogger::ScopedLogger(std::ostream& err, int verbose, bool quiet) : previous_(spdlog::default_logger()) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(err, true);
  auto logger = std::make_shared<spdlog::logger>("vit-classify", sink);
  logger->set_pattern("vit-classify: %l: %v");
  spdlog::level::level_enum level = spdlog::level::warn;
  if (quiet) level = spdlog::level::err;
  if (verbose == 1) level = spdlog::level::info;
  if (verbose >= 2) level = spdlog::level::debug;
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

ScopedLogger::~ScopedLogger() { spdlog::set_default_logger(previous_); }

ScopedMathThreads::ScopedMathThreads(int threads) : previous_(math_threads()), threads_(set_math_threads(threads)) {}

ScopedMathThreads::~ScopedMathThreads() { set_math_threads(previous_); }

namespace {
std::atomic<bool> g_stop{false};
std::atomic<bool> g_stopping_job{false};  // a ScopedStopSignals is alive: a signal sets g_stop
std::atomic<bool> g_watcher{false};       // watch_stop_signals() runs: no handler is installed
extern "C" void on_stop_signal(int) { g_stop.store(true); }

// The watcher thread: the first signal during a job asks it to stop; any other ends the process
// by the signal's default action (SIGINT's exit status, 130 to a shell).
void watch(sigset_t set) {
  ::pthread_setname_np(::pthread_self(), "vit-signals");  // its name in /proc, top and gdb
  while (true) {
    int sig = 0;
    if (::sigwait(&set, &sig) != 0) continue;
    if (g_stopping_job.load() && !g_stop.exchange(true)) continue;
    ::signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    ::pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
    ::raise(sig);
  }
}
}  // namespace

void watch_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(watch, set).detach();
  g_watcher = true;
}

ScopedStopSignals::ScopedStopSignals() {
  g_stop = false;
  if (g_watcher) {
    g_stopping_job = true;
    return;
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C kills at once
  ::sigaction(SIGINT, &sa, &old_int_);
  ::sigaction(SIGTERM, &sa, &old_term_);
}

ScopedStopSignals::~ScopedStopSignals() {
  if (g_watcher) {
    g_stopping_job = false;
    return;
  }
  ::sigaction(SIGINT, &old_int_, nullptr);
  ::sigaction(SIGTERM, &old_term_, nullptr);
}

const std::atomic<bool>& ScopedStopSignals::stop() const { return g_stop; }

// glibc serves blocks above its mmap threshold with mmap and unmaps them on free, so every
// batch maps and unmaps its activations (tens of MB) again: 5% system time for ViT-B/16 here.
// Keeping such blocks on the heap, and the heap from shrinking, gave +6% throughput.
void tune_allocator() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest value glibc accepts on 64-bit
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

// A reader that goes away (`vit-classify -r photos | head -1`) makes the next write fail with
// EPIPE rather than kill the process: the record sink reports it, and the exit status is 5 as
// README's table says, with nothing half-written.
void ignore_broken_pipes() { ::signal(SIGPIPE, SIG_IGN); }

void end_process(int status) {
  std::cout.flush();
  std::cerr.flush();
  std::clog.flush();
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
  std::fflush(nullptr);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  std::exit(status);  // the sanitizers' reports run from exit handlers
#else
  std::_Exit(status);
#endif
}

}  // namespace vit
