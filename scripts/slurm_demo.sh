#!/bin/bash
# Runs README.md's Slurm job-array recipe for real, on a one-node Slurm cluster brought up on
# this machine for the purpose, and checks that the merged parts hold exactly the records of
# one plain `vit-classify -r` run (tests/recipes/compare_records.py, as the parallel_recipe test).
#
#   scripts/slurm_demo.sh [BINARY]        (default: build/vit-classify; takes well under a minute)
#   SLURM_DEMO_KEEP=1 scripts/slurm_demo.sh   keeps the temporary folder (logs, parts) to look at
#   SLURM_DEMO_README=FILE scripts/slurm_demo.sh   takes the recipe from FILE (to break it on purpose)
#
# Installs Debian's slurm-wlm and munge with apt-get if they are missing (needs root). Nothing
# outside one temporary folder is configured: munged runs with its own key and socket there, and
# slurmctld + slurmd run in the foreground (-D) in the background of this script with a
# throwaway slurm.conf (SlurmUser=root, node "localhost" with this machine's CPUs and memory,
# proctrack/linuxproc, task/none, no cgroups, no accounting, free ports). The job script is the
# README's, with the model, the folder and the array size (4 tasks of 1 CPU, --threads 1)
# substituted. The daemons are stopped and the folder removed on exit, failure included.
# Exit 0: the recipe works; 1: it does not; 77: no model or photos to run it on.
set -euo pipefail
shopt -s nullglob  # a glob that matches nothing (no parts written) expands to nothing

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BINARY=$(realpath "${1:-$ROOT/build/vit-classify}")
RECIPES=$ROOT/tests/recipes
README=${SLURM_DEMO_README:-$ROOT/README.md}  # another file only to see the demo fail on purpose
PYTHON=/usr/bin/python3
SHARDS=4  # array tasks: 4 tasks of one CPU on a 2-core machine, two at a time

say() { echo "slurm_demo: $*"; }
die() { echo "slurm_demo: FAIL: $*" >&2; exit 1; }

[[ -e $BINARY ]] || die "$BINARY: no vit-classify binary (build it first, or pass its path)"

# --- Slurm and munge ------------------------------------------------------------------------
missing=()
for cmd in munged mungekey slurmctld slurmd sbatch sinfo scontrol; do
  command -v "$cmd" >/dev/null || missing+=("$cmd")
done
if ((${#missing[@]})); then
  [[ $(id -u) == 0 ]] || die "missing ${missing[*]}; install Debian's slurm-wlm and munge (as root)"
  say "installing slurm-wlm and munge (missing: ${missing[*]})"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

# --- What the recipe runs on ----------------------------------------------------------------
status=0
MODEL=$("$PYTHON" "$RECIPES/recipe_inputs.py" model "$ROOT" "$ROOT/build/tests/fixtures") || status=$?
if ((status == 77)); then say "skipped: no model"; exit 77; fi
((status == 0)) || die "could not find a model"

TMP=$(mktemp -d /tmp/vit-slurm-demo.XXXXXX)
chmod 755 "$TMP"  # munged wants every folder above its socket searchable by all
PIDS=()           # munged, slurmctld, slurmd: stopped in reverse order on exit

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((${#PIDS[@]} == 3)); then  # our cluster's jobs first: slurmd leaves running steps behind
    scancel --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 20); do [[ -z $(squeue -h 2>/dev/null) ]] && break; sleep 0.5; done
  fi
  if ((rc != 0)) && [[ -d $TMP/log ]]; then
    for f in "$TMP"/log/*; do echo "--- last lines of $f:"; tail -n 15 "$f"; done >&2
  fi
  local i pid
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid=${PIDS[i]}
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ ${SLURM_DEMO_KEEP:-0} == 1 ]]; then
    say "stopped ${#PIDS[@]} daemon(s), kept $TMP (SLURM_DEMO_KEEP=1)"
  else
    rm -rf "$TMP"
    say "stopped ${#PIDS[@]} daemon(s), removed $TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$TMP"/{munge,state,spool,log,work,plain,bin}
DATA=$TMP/data
"$PYTHON" "$RECIPES/recipe_inputs.py" folder "$DATA" >"$TMP/inputs.txt" || status=$?
if ((status == 77)); then say "skipped: no photos"; exit 77; fi
((status == 0)) || die "could not fill $DATA"
say "$(wc -l <"$TMP/inputs.txt") inputs in $DATA: $(sort "$TMP/inputs.txt" | tr '\n' ' ')"

# --- munged ---------------------------------------------------------------------------------
SOCKET=$TMP/munge/munge.sock
mungekey --create --keyfile="$TMP/munge/munge.key"
munged --foreground --key-file="$TMP/munge/munge.key" --socket="$SOCKET" \
  --pid-file="$TMP/munge/munged.pid" --seed-file="$TMP/munge/munged.seed" \
  --log-file="$TMP/log/munged.log" >"$TMP/log/munged.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [[ -S $SOCKET ]] && break; kill -0 "${PIDS[0]}" 2>/dev/null || break; sleep 0.1; done
[[ -S $SOCKET ]] || die "munged did not start (see its log below)"
munge --socket="$SOCKET" --no-input | unmunge --socket="$SOCKET" >/dev/null || die "munge cannot check its own credential"
say "munged up (socket $SOCKET)"

# --- slurmctld + slurmd ---------------------------------------------------------------------
read -r CTLD_PORT SLURMD_PORT < <("$PYTHON" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
HW=$(slurmd -C | sed -n 1p)  # NodeName=... CPUs=2 Boards=1 ... RealMemory=24105
CPUS=$(grep -o 'CPUs=[0-9]*' <<<"$HW" | cut -d= -f2)
MEMORY=$(grep -o 'RealMemory=[0-9]*' <<<"$HW" | cut -d= -f2)
[[ -n $CPUS && -n $MEMORY ]] || die "cannot read CPUs and memory from 'slurmd -C': $HW"
export SLURM_CONF=$TMP/slurm.conf
cat >"$SLURM_CONF" <<EOF
# Throwaway one-node cluster for scripts/slurm_demo.sh; everything lives in $TMP.
ClusterName=vitdemo
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldLogFile=$TMP/log/slurmctld.log
SlurmdLogFile=$TMP/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
NodeName=localhost CPUs=$CPUS RealMemory=$MEMORY State=UNKNOWN
PartitionName=demo Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -f "$SLURM_CONF" >"$TMP/log/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -N localhost -f "$SLURM_CONF" >"$TMP/log/slurmd.out" 2>&1 &
PIDS+=($!)
state=""
for _ in $(seq 120); do
  state=$(sinfo -h -n localhost -o %t 2>/dev/null || true)
  [[ $state == idle ]] && break
  kill -0 "${PIDS[1]}" 2>/dev/null || die "slurmctld exited (see its log below)"
  kill -0 "${PIDS[2]}" 2>/dev/null || die "slurmd exited (see its log below)"
  sleep 0.5
done
[[ $state == idle ]] || die "node localhost is '${state:-unknown}' after 60 s, not idle"
say "slurmctld (port $CTLD_PORT) and slurmd (port $SLURMD_PORT) up:"
sinfo

# --- The README's job array -----------------------------------------------------------------
# `vit-classify` in the script is the binary under test, found on PATH (sbatch exports PATH to
# the tasks). A copy of it: every run here, the tasks' and the plain one, uses the same binary
# even if the build tree is relinked meanwhile (a relink in progress leaves it non-executable).
for _ in $(seq 60); do [[ -x $BINARY ]] && break; sleep 1; done
cp "$BINARY" "$TMP/bin/vit-classify"
"$TMP/bin/vit-classify" --version >/dev/null || die "$BINARY (copied to $TMP/bin) does not run"
say "binary: $BINARY ($("$TMP/bin/vit-classify" --version | sed -n 1p)), copied to $TMP/bin"
BINARY=$TMP/bin/vit-classify
export PATH=$TMP/bin:$PATH
[[ $(command -v vit-classify) == "$BINARY" ]] || die "vit-classify on PATH is not $BINARY"

cd "$TMP/work"
"$PYTHON" "$RECIPES/recipe_inputs.py" block "$README" '#!/bin/bash' |
  "$PYTHON" "$RECIPES/recipe_inputs.py" replace \
    'model.safetensors' "$(printf %q "$MODEL")" ' /data ' " $(printf %q "$DATA") " \
    '--array=1-16' "--array=1-$SHARDS" '--cpus-per-task=8' '--cpus-per-task=1' \
    '--threads 8' '--threads 1' '}/16 ' "}/$SHARDS " >job.sh
MERGE=$("$PYTHON" "$RECIPES/recipe_inputs.py" block "$README" 'parallel ' | grep '^cat part-') ||
  die "README's merge line (cat part-*.jsonl > ...) not found"
say "README's job script, substituted ($TMP/work/job.sh):"
sed 's/^/    /' job.sh

say "\$ sbatch --wait job.sh"
sbatch_status=0
sbatch --wait job.sh || sbatch_status=$?
say "sbatch exited $sbatch_status; the array's tasks:"
scontrol show job -o | grep -o '\bArrayTaskId=[0-9]*\|\bJobState=[A-Z_]*\|\bExitCode=[0-9:]*' | paste - - - |
  sort -t= -k2 -n | tee "$TMP/tasks.txt" | sed 's/^/    /'
for f in slurm-*.out; do echo "    --- $f:"; sed 's/^/    /' "$f"; done

failed=()
say "\$ $MERGE"
bash -c "$MERGE" || failed+=("the merge line failed")
say "\$ vit-classify -m $MODEL -r $DATA --format json -o $TMP/plain/one.jsonl"
plain_status=0
"$BINARY" -m "$MODEL" -r "$DATA" --format json -o "$TMP/plain/one.jsonl" || plain_status=$?

compare_status=0
"$PYTHON" "$RECIPES/compare_records.py" "$TMP/plain/one.jsonl" --parts-in "$TMP/work" --shards "$SHARDS" \
  --merged "$TMP/work/labels.jsonl" || compare_status=$?
((compare_status == 0)) || failed+=("the parts differ from one plain run (above)")
# sbatch --wait exits with the highest exit status of the array's tasks: the bad file's task
# exits 1 ("some inputs failed"), as the plain run does.
tasks_failed=$(grep -c 'ExitCode=1:0' "$TMP/tasks.txt" || true)
tasks_ok=$(grep -c 'JobState=COMPLETED.*ExitCode=0:0' "$TMP/tasks.txt" || true)
((tasks_failed == 1 && tasks_ok == SHARDS - 1)) ||
  failed+=("$tasks_failed task(s) exited 1 and $tasks_ok completed with 0; expected 1 and $((SHARDS - 1))")
((sbatch_status == 1)) || failed+=("sbatch --wait exited $sbatch_status, expected 1 (one task has the bad file)")
((plain_status == 1)) || failed+=("the plain run exited $plain_status, expected 1 (one input is not an image)")

# Resubmitting the same array (a requeue, a rerun after a crash) must change nothing: --resume
# skips what each part already holds, and every task then exits 0.
cp -r "$TMP/work" "$TMP/first"
say "\$ sbatch --wait job.sh    (again: --resume leaves the parts as they are)"
again_status=0
sbatch --wait job.sh || again_status=$?
say "sbatch exited $again_status"
for f in part-*.jsonl; do
  cmp -s "$f" "$TMP/first/$f" || failed+=("$f changed when the array ran again with --resume")
done
((again_status == 0)) || failed+=("the resubmitted array exited $again_status, expected 0 (nothing left to do)")

if ((${#failed[@]})); then
  for f in "${failed[@]}"; do echo "slurm_demo: FAIL: $f" >&2; done
  exit 1
fi
say "OK: README's Slurm job array ($SHARDS tasks) + merge = one plain run; resubmitting it changed nothing"
