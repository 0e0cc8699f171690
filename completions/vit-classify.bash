# bash completion for vit-classify: subcommands, each one's options, the values of the
# enumerated options, file names for images, data sets and -m (plus the Hugging Face cache's
# ORG/NAME ids). Installed as share/bash-completion/completions/vit-classify, where
# bash-completion's loader finds it on first use.
# Generated from the option table (src/app/option_table*.cpp) by scripts/generate_docs.sh: do not edit.

_vit_classify_commands="classify explain eval models bench help"

# Each command's options.
_vit_classify_classify_opts="-h --help -m --model --offline -k --top-k --format --digits --logits --preset --resize --crop --interpolation --mean --std --labels --labels-file --template --tokenizer --device --threads --precision --deterministic --heads --image-size --max-pixels -v --verbose -q --quiet -r --recursive --files-from -0 --null --ext --hidden --shard -o --output --force --resume --retry-failed --progress --no-progress --workers --fast-decode --batch-size"
_vit_classify_explain_opts="-h --help -m --model --offline -k --top-k --format --digits --logits --preset --resize --crop --interpolation --mean --std --labels --labels-file --template --tokenizer --device --threads --precision --deterministic --heads --image-size --max-pixels -v --verbose -q --quiet --force -o --output --layer --head --head-fusion --head-scale --discard-ratio"
_vit_classify_eval_opts="-h --help -m --model --offline -k --top-k --format --digits --logits --preset --resize --crop --interpolation --mean --std --labels --labels-file --template --tokenizer --device --threads --precision --deterministic --heads --image-size --max-pixels -v --verbose -q --quiet -o --output --records-format --force --resume --progress --no-progress --workers --fast-decode --batch-size --worst --confusions"
_vit_classify_models_opts="-h --help --offline --format -v --verbose -q --quiet --fetch"
_vit_classify_bench_opts="-h --help -m --model --offline --format --preset --resize --crop --interpolation --mean --std --labels --labels-file --template --tokenizer --device --threads --precision --deterministic --heads --image-size --max-pixels -v --verbose -q --quiet --batch-size --iterations --seconds --warmup --image"

# The options that take a value (the word after them is that value, not an input).
_vit_classify_valued="-m --model -k --top-k --format --digits --preset --resize --crop --interpolation --mean --std --labels --labels-file --template --tokenizer --device --threads --precision --heads --image-size --max-pixels --files-from --ext --shard -o --output --records-format --workers --batch-size --layer --head --head-fusion --head-scale --discard-ratio --worst --confusions --fetch --iterations --seconds --warmup --image"

# What each command offers for an option's value: _vit_classify_value COMMAND OPTION.
_vit_classify_value() {
  case $1:$2 in
    classify:-m | classify:--model | explain:-m | explain:--model | eval:-m | eval:--model | bench:-m | bench:--model) local IFS=$'\n'; COMPREPLY=($(compgen -W "$(_vit_classify_cached_models)" -- "$cur")); _vit_classify_files '@(safetensors|pth|pt|bin|ts)' ;;
    classify:-k | classify:--top-k | explain:-k | explain:--top-k | eval:-k | eval:--top-k) : ;;
    classify:--format | explain:--format) COMPREPLY=($(compgen -W "text json jsonl csv tsv" -- "$cur")) ;;
    eval:--format | models:--format | bench:--format) COMPREPLY=($(compgen -W "text json" -- "$cur")) ;;
    classify:--digits | explain:--digits | eval:--digits) : ;;
    classify:--preset | explain:--preset | eval:--preset | bench:--preset) COMPREPLY=($(compgen -W "auto timm torchvision hf deit clip" -- "$cur")) ;;
    classify:--resize | explain:--resize | eval:--resize | bench:--resize) COMPREPLY=($(compgen -W "none 224 256 224x224" -- "$cur")) ;;
    classify:--crop | explain:--crop | eval:--crop | bench:--crop) COMPREPLY=($(compgen -W "none 224" -- "$cur")) ;;
    classify:--interpolation | explain:--interpolation | eval:--interpolation | bench:--interpolation) COMPREPLY=($(compgen -W "nearest bilinear bicubic lanczos box hamming" -- "$cur")) ;;
    classify:--mean | explain:--mean | eval:--mean | bench:--mean) : ;;
    classify:--std | explain:--std | eval:--std | bench:--std) : ;;
    classify:--labels | explain:--labels | eval:--labels | bench:--labels) _vit_classify_files ;;
    classify:--labels-file | explain:--labels-file | eval:--labels-file | bench:--labels-file) _vit_classify_files ;;
    classify:--template | explain:--template | eval:--template | bench:--template) : ;;
    classify:--tokenizer | explain:--tokenizer | eval:--tokenizer | bench:--tokenizer) _vit_classify_files ;;
    classify:--device | explain:--device | eval:--device | bench:--device) COMPREPLY=($(compgen -W "auto cpu cuda cuda:0 cuda:1" -- "$cur")) ;;
    classify:--threads | explain:--threads | eval:--threads | bench:--threads) : ;;
    classify:--precision | explain:--precision | eval:--precision | bench:--precision) COMPREPLY=($(compgen -W "fp32 bf16 int8" -- "$cur")) ;;
    classify:--heads | explain:--heads | eval:--heads | bench:--heads) : ;;
    classify:--image-size | explain:--image-size | eval:--image-size | bench:--image-size) : ;;
    classify:--max-pixels | explain:--max-pixels | eval:--max-pixels | bench:--max-pixels) : ;;
    classify:--files-from) _vit_classify_files ;;
    classify:--ext) : ;;
    classify:--shard) : ;;
    classify:-o | classify:--output | eval:-o | eval:--output) _vit_classify_files ;;
    eval:--records-format) COMPREPLY=($(compgen -W "json csv tsv" -- "$cur")) ;;
    classify:--workers | eval:--workers) : ;;
    classify:--batch-size | eval:--batch-size) : ;;
    explain:-o | explain:--output) _vit_classify_files -d ;;
    explain:--layer) : ;;
    explain:--head) : ;;
    explain:--head-fusion) COMPREPLY=($(compgen -W "mean max min" -- "$cur")) ;;
    explain:--head-scale) COMPREPLY=($(compgen -W "panel shared" -- "$cur")) ;;
    explain:--discard-ratio) : ;;
    eval:--worst) : ;;
    eval:--confusions) : ;;
    models:--fetch) local IFS=$'\n'; COMPREPLY=($(compgen -W "$(_vit_classify_cached_models)" -- "$cur")) ;;
    bench:--batch-size) : ;;
    bench:--iterations) : ;;
    bench:--seconds) : ;;
    bench:--warmup) : ;;
    bench:--image) _vit_classify_files ;;
  esac
}

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
