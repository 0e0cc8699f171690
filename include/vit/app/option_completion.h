// The bash and zsh completion scripts, made from the option table (vit/app/option_table.h);
// scripts/generate_docs.sh writes them to completions/.
#pragma once

#include <string>

namespace vit {

std::string generate_bash_completion();
std::string generate_zsh_completion();

}  // namespace vit
