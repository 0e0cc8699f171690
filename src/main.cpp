// vit-classify: classify images with a Vision Transformer. All the work is in the library
// (include/vit/); this only hands the arguments over and returns the exit status.
#include <iostream>
#include <string>
#include <vector>

#include "vit/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return vit::run_cli(args, std::cout, std::cerr, &std::cin);
}
