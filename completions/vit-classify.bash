# bash completion for vit-classify: subcommands, each one's options, the values of the
# enumerated options, file names for images, data sets and -m (plus the Hugging Face cache's
# ORG/NAME ids). Installed as share/bash-completion/completions/vit-classify, where
# bash-completion's loader finds it on first use. tests/check_docs.py checks it against
# `vit-classify help COMMAND`.

_vit_classify_commands="classify explain eval models bench help"

# Options every model-running command takes.
_vit_classify_model_opts="-h --help -m --model --offline -k --top-k --format --preset --resize --crop
  --interpolation --mean --std --labels --device --threads --precision --heads --image-size --max-pixels -v
  --verbose -q --quiet"
_vit_classify_classify_opts="$_vit_classify_model_opts -r --recursive --files-from -0 --null --ext --hidden
  --shard -o --output --force --resume --retry-failed --progress --no-progress --workers --fast-decode
  --batch-size"
_vit_classify_explain_opts="$_vit_classify_model_opts -o --output --layer --head --head-fusion --head-scale
  --discard-ratio --force"
_vit_classify_eval_opts="$_vit_classify_model_opts -o --output --records-format --batch-size --workers
  --progress --no-progress --resume --force --worst --confusions --fast-decode"
_vit_classify_models_opts="-h --help --format --fetch --offline -v --verbose -q --quiet"
_vit_classify_bench_opts="$_vit_classify_model_opts --batch-size --iterations --seconds --warmup --image"

# The options that take a value (the word after them is that value, not an input).
_vit_classify_valued="-m --model -k --top-k --format --preset --resize --crop --interpolation --mean --std
  --labels --device --threads --precision --heads --image-size --max-pixels --files-from --ext --shard -o --output
  --workers --batch-size --layer --head --head-fusion --head-scale --discard-ratio --records-format --worst
  --confusions --fetch --iterations --seconds --warmup --image"

# ORG/NAME of each model repository in the Hugging Face cache (as hub.h finds the cache).
_vit_classify_cached_models() {
  local cache=${HF_HUB_CACHE:-${HF_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/huggingface}/hub} d name
  for d in "$cache"/models--*--*; do
    [[ -d $d ]] || continue
    name=${d##*/models--}
    printf '%s\n' "${name/--//}"
  done
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
      [[ $w != *=* && " ${_vit_classify_valued//$'\n'/ } " == *" $w "* ]] && ((i++))
      continue
    fi
    case " $_vit_classify_commands " in *" $w "*) cmd=$w ;; *) cmd=classify ;; esac
    break
  done

  case $prev in
    --format)
      case $cmd in
        models | eval | bench) COMPREPLY=($(compgen -W "text json" -- "$cur")) ;;
        *) COMPREPLY=($(compgen -W "text json jsonl csv tsv" -- "$cur")) ;;
      esac
      return ;;
    --records-format) COMPREPLY=($(compgen -W "json csv tsv" -- "$cur")); return ;;
    --preset) COMPREPLY=($(compgen -W "auto timm torchvision hf deit" -- "$cur")); return ;;
    --interpolation) COMPREPLY=($(compgen -W "nearest bilinear bicubic lanczos box hamming" -- "$cur")); return ;;
    --device) COMPREPLY=($(compgen -W "auto cpu cuda cuda:0 cuda:1" -- "$cur")); return ;;
    --precision) COMPREPLY=($(compgen -W "fp32 bf16 int8" -- "$cur")); return ;;
    --head-fusion) COMPREPLY=($(compgen -W "mean max min" -- "$cur")); return ;;
    --head-scale) COMPREPLY=($(compgen -W "panel shared" -- "$cur")); return ;;
    --resize) COMPREPLY=($(compgen -W "none 224 256 224x224" -- "$cur")); return ;;
    --crop) COMPREPLY=($(compgen -W "none 224" -- "$cur")); return ;;
    -m | --model | --fetch)
      # Weights files, model folders, and the repositories already in the cache.
      local IFS=$'\n'
      COMPREPLY=($(compgen -W "$(_vit_classify_cached_models)" -- "$cur"))
      [[ $prev == --fetch ]] && return
      if declare -F _filedir >/dev/null; then
        _filedir '@(safetensors|pth|pt|bin|ts)'
      else
        COMPREPLY+=($(compgen -f -- "$cur"))
      fi
      return ;;
    --labels | --files-from | --image)
      if declare -F _filedir >/dev/null; then _filedir; else COMPREPLY=($(compgen -f -- "$cur")); fi
      return ;;
    -o | --output)
      if [[ $cmd == explain ]]; then
        if declare -F _filedir >/dev/null; then _filedir -d; else COMPREPLY=($(compgen -d -- "$cur")); fi
      elif declare -F _filedir >/dev/null; then _filedir; else COMPREPLY=($(compgen -f -- "$cur")); fi
      return ;;
  esac
  # Any other option that takes a value: a number or text, nothing to offer.
  [[ $prev == -* && " ${_vit_classify_valued//$'\n'/ } " == *" $prev "* ]] && return
  $split && return

  if [[ $cur == -* ]]; then
    local opts
    case $cmd in
      explain) opts=$_vit_classify_explain_opts ;;
      eval) opts=$_vit_classify_eval_opts ;;
      models) opts=$_vit_classify_models_opts ;;
      bench) opts=$_vit_classify_bench_opts ;;
      help) return ;;
      "") opts="$_vit_classify_classify_opts --version" ;;
      *) opts=$_vit_classify_classify_opts ;;
    esac
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    [[ ${COMPREPLY-} == *= ]] && compopt -o nospace
    return
  fi

  case $cmd in
    help) COMPREPLY=($(compgen -W "$_vit_classify_commands" -- "$cur")) ;;
    models | bench) ;;
    *)
      # Images (or a data set's folder or list); before any input, the subcommands too.
      [[ -z $cmd ]] && COMPREPLY=($(compgen -W "$_vit_classify_commands" -- "$cur"))
      if declare -F _filedir >/dev/null; then
        _filedir
      else
        local IFS=$'\n'
        COMPREPLY+=($(compgen -f -- "$cur"))
      fi ;;
  esac
}
complete -F _vit_classify vit-classify
