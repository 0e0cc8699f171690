// vit-classify: classify images with a Vision Transformer. All the work is in the library;
// this tunes the process, hands the arguments over and returns the exit status.
#include <iostream>
#include <string>
#include <vector>

#include "vit/app/cli.h"
#include "vit/app/process_state.h"

int main(int argc, char** argv) {
  vit::watch_stop_signals();  // first: before any thread exists (see process_state.h)
  vit::tune_allocator();
  vit::ignore_broken_pipes();
  std::vector<std::string> args(argv + 1, argv + argc);
  vit::end_process(vit::run_cli(args, std::cout, std::cerr, &std::cin));  // skips static destructors
}
