// The bash and zsh completions, made from the option table (scripts/generate_docs.sh writes
// them to completions/): each command's options, which of them take a value, and what a shell
// offers for each value. The parts that are not option facts are the constant texts below.
#include "vit/app/option_completion.h"

#include <algorithm>
#include <string>
#include <vector>

#include "vit/app/option_table.h"

namespace vit {

namespace {

const char* kBashHead = R"sh(# bash completion for vit-classify: subcommands, each one's options, the values of the
# enumerated options, file names for images, data sets and -m (plus the Hugging Face cache's
# ORG/NAME ids). Installed as share/bash-completion/completions/vit-classify, where
# bash-completion's loader finds it on first use.
# Generated from the option table (src/app/option_table*.cpp) by scripts/generate_docs.sh: do not edit.

)sh";

const char* kBashBody = R"sh(
# ORG/NAME of each model repository in the Hugging Face cache (as hub.h finds the cache).
_vit_classify_cached_models() {
  local cache=${HF_HUB_CACHE:-${HF_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/huggingface}/hub} d name
  for d in "$cache"/models--*--*; do
    [[ -d $d ]] || continue
    name=${d##*/models--}
    printf '%s\n' "${name/--//}"
  done
}

_vit_classify_files() {
  if declare -F _filedir >/dev/null; then _filedir "$@"; else
    local IFS=$'\n'
    if [[ ${1-} == -d ]]; then COMPREPLY+=($(compgen -d -- "$cur")); else COMPREPLY+=($(compgen -f -- "$cur")); fi
  fi
}

_vit_classify() {
  local cur prev words cword split=false
  if declare -F _init_completion >/dev/null; then
    _init_completion -s || return
  else  # without bash-completion: plain words, no --opt=value splitting
    cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
  fi

  # The subcommand: the first word that is neither an option nor an option's value.
  local cmd="" i w
  for ((i = 1; i < cword; i++)); do
    w=${words[i]}
    if [[ $w == -* ]]; then
      [[ $w != *=* && " $_vit_classify_valued " == *" $w "* ]] && ((i++))
      continue
    fi
    case " $_vit_classify_commands " in *" $w "*) cmd=$w ;; *) cmd=classify ;; esac
    break
  done

  if [[ $prev == -* && " $_vit_classify_valued " == *" $prev "* ]]; then
    _vit_classify_value "${cmd:-classify}" "$prev"
    return
  fi
  $split && return

  if [[ $cur == -* ]]; then
    local opts
    case $cmd in
      help) return ;;
      "") opts="$_vit_classify_classify_opts --version" ;;
      *) local v=_vit_classify_${cmd}_opts; opts=${!v} ;;
    esac
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return
  fi

  case $cmd in
    help) COMPREPLY=($(compgen -W "$_vit_classify_commands" -- "$cur")) ;;
    models | bench) ;;
    *)
      # Images (or a data set's folder or list); before any input, the subcommands too.
      [[ -z $cmd ]] && COMPREPLY=($(compgen -W "$_vit_classify_commands" -- "$cur"))
      _vit_classify_files ;;
  esac
}
complete -F _vit_classify vit-classify
)sh";

const char* kZshHead = R"sh(#compdef vit-classify
# zsh completion for vit-classify: subcommands, each one's options, the values of the
# enumerated options, file names for images, data sets and -m (plus the Hugging Face cache's
# ORG/NAME ids). Installed as share/zsh/vendor-completions/_vit-classify (on Debian's $fpath).
# Generated from the option table (src/app/option_table*.cpp) by scripts/generate_docs.sh: do not edit.

# ORG/NAME of each model repository in the Hugging Face cache (as hub.h finds the cache).
(( $+functions[_vit-classify_cached_models] )) ||
_vit-classify_cached_models() {
  local cache=${HF_HUB_CACHE:-${HF_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/huggingface}/hub}
  local -a dirs ids
  dirs=($cache/models--*--*(N/:t))
  ids=(${${dirs#models--}/--//})
  compadd "$@" -a ids
}

(( $+functions[_vit-classify_model] )) ||
_vit-classify_model() {
  _alternative \
    'files:weights file or model folder:_files -g "*.(safetensors|pth|pt|bin|ts)(-.)"' \
    'hub:Hugging Face model:_vit-classify_cached_models'
}

_vit-classify() {
  local -a classify_opts explain_opts eval_opts models_opts bench_opts commands
)sh";

const char* kZshTail = R"sh(
  local curcontext=$curcontext state line ret=1
  typeset -A opt_args
  # The top level is classify itself, so its options and images come before any subcommand.
  _arguments -C -s -S -A '-*' \
    '(- *)--version[print the version and exit]' \
    $classify_opts \
    '1: :->first' \
    '*:: :->rest' && ret=0

  case $state in
    first)
      _describe -t commands command commands && ret=0
      _files && ret=0 ;;
    rest)
      case $words[1] in
        classify) _arguments -s -S $classify_opts '*:image:_files' && ret=0 ;;
        explain) _arguments -s -S $explain_opts '1:image:_files' && ret=0 ;;
        eval) _arguments -s -S $eval_opts '1:data set (ImageFolder tree or CSV/TSV list):_files' && ret=0 ;;
        models) _arguments -s -S $models_opts && ret=0 ;;
        bench) _arguments -s -S $bench_opts && ret=0 ;;
        help) _describe -t commands command commands && ret=0 ;;
        *) _files && ret=0 ;;
      esac ;;
  esac
  return ret
}

_vit-classify "$@"
)sh";

std::vector<std::string> names_of(const OptionRow& row) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t comma; (comma = row.names.find(',', start)) != std::string::npos; start = comma + 1)
    out.push_back(row.names.substr(start, comma - start));
  out.push_back(row.names.substr(start));
  return out;
}

bool is_option(const OptionRow& row) { return !row.hidden && row.names[0] == '-'; }

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// What bash offers for a value (run with $cur set).
std::string bash_action(const OptionRow& row) {
  switch (row.completion) {
    case Completion::Choice: return "COMPREPLY=($(compgen -W \"" + join(row.choices, " ") + "\" -- \"$cur\"))";
    case Completion::File:
    case Completion::ImageOrDir: return "_vit_classify_files";
    case Completion::Dir: return "_vit_classify_files -d";
    case Completion::Repo:
      return "local IFS=$'\\n'; COMPREPLY=($(compgen -W \"$(_vit_classify_cached_models)\" -- \"$cur\"))";
    case Completion::Model:
      return "local IFS=$'\\n'; COMPREPLY=($(compgen -W \"$(_vit_classify_cached_models)\" -- \"$cur\")); "
             "_vit_classify_files '@(safetensors|pth|pt|bin|ts)'";
    case Completion::None: return ":";  // a number or text: nothing to offer
  }
  return ":";
}

// zsh's _arguments action after the value's name.
std::string zsh_action(const OptionRow& row) {
  switch (row.completion) {
    case Completion::Choice: {
      std::string words;
      for (const auto& c : row.choices) {
        std::string w;
        for (char ch : c) w += ch == ':' ? std::string("\\:") : std::string(1, ch);
        words += (words.empty() ? "" : " ") + w;
      }
      return "(" + words + ")";
    }
    case Completion::File:
    case Completion::ImageOrDir: return "_files";
    case Completion::Dir: return "_files -/";
    case Completion::Repo: return "_vit-classify_cached_models";
    case Completion::Model: return "_vit-classify_model";
    case Completion::None: return " ";
  }
  return " ";
}

// The help as a zsh description: its words before any parenthesis or semicolon, with brackets
// and quotes escaped.
std::string zsh_description(const std::string& help) {
  std::string s = help.substr(0, std::min(help.find("; "), help.find(" (")));
  std::string out;
  for (char ch : s) {
    if (ch == '[' || ch == ']') out += '\\';
    if (ch == '\'') {
      out += "'\\''";
      continue;
    }
    out += ch;
  }
  return out;
}

std::string zsh_spec(const OptionRow& row) {
  const std::vector<std::string> names = names_of(row);
  const bool valued = !row.hint.empty();
  const bool repeat = row.names == "-v,--verbose" || row.names == "--fetch";
  std::string exclusive = names.size() > 1 && !repeat ? "'(" + join(names, " ") + ")'" : "";
  std::string prefix = repeat ? "'*'" : "";
  std::string list;
  for (const auto& n : names) {
    std::string s = n;
    if (valued) s += n.size() == 2 ? "+" : "=";
    list += (list.empty() ? "" : ",") + s;
  }
  std::string head = names.size() > 1 ? prefix + exclusive + "{" + list + "}" : prefix + "'" + list + "'";
  std::string spec = head + "'[" + zsh_description(row.help) + "]";
  if (valued) spec += ":" + row.hint + ":" + zsh_action(row);
  return spec + "'";
}

}  // namespace

std::string generate_bash_completion() {
  std::string s = kBashHead;
  std::vector<std::string> names{"classify"};
  for (const auto& c : commands())
    if (c.command != kClassify) names.push_back(c.name);
  names.push_back("help");
  s += "_vit_classify_commands=\"" + join(names, " ") + "\"\n\n# Each command's options.\n";
  for (const auto& c : commands()) {
    std::vector<std::string> opts{"-h", "--help"};
    for (const OptionRow& row : option_table())
      if ((row.commands & c.command) && is_option(row))
        for (const auto& n : names_of(row)) opts.push_back(n);
    s += std::string("_vit_classify_") + c.name + "_opts=\"" + join(opts, " ") + "\"\n";
  }
  std::vector<std::string> valued;
  for (const OptionRow& row : option_table())
    if (is_option(row) && !row.hint.empty())
      for (const auto& n : names_of(row))
        if (std::find(valued.begin(), valued.end(), n) == valued.end()) valued.push_back(n);
  s += "\n# The options that take a value (the word after them is that value, not an input).\n";
  s += "_vit_classify_valued=\"" + join(valued, " ") + "\"\n";
  s += "\n# What each command offers for an option's value: _vit_classify_value COMMAND OPTION.\n";
  s += "_vit_classify_value() {\n  case $1:$2 in\n";
  for (const OptionRow& row : option_table()) {
    if (!is_option(row) || row.hint.empty()) continue;
    std::vector<std::string> patterns;
    for (const auto& c : commands())
      if (row.commands & c.command)
        for (const auto& n : names_of(row)) patterns.push_back(std::string(c.name) + ":" + n);
    s += "    " + join(patterns, " | ") + ") " + bash_action(row) + " ;;\n";
  }
  s += "  esac\n}\n";
  return s + kBashBody;
}

std::string generate_zsh_completion() {
  std::string s = kZshHead;
  for (const auto& c : commands()) {
    s += std::string("  ") + c.name + "_opts=(\n    '(- *)'{-h,--help}'[print the help and exit]'\n";
    for (const OptionRow& row : option_table())
      if ((row.commands & c.command) && is_option(row)) s += "    " + zsh_spec(row) + "\n";
    s += "  )\n";
  }
  s += "  commands=(\n";
  for (const auto& c : commands()) s += std::string("    '") + c.name + ":" + zsh_description(c.summary) + "'\n";
  s += "    'help:print the help of a command'\n  )\n";
  return s + kZshTail;
}

}  // namespace vit
