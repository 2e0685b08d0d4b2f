#!/usr/bin/env bash
# The test Slurm cluster (slurm_cluster.sh) does what `nnbench sweep --slurm` relies on:
#  1. an `sbatch --array` job runs every task, and a job submitted with
#     --dependency=afterok:<array> --kill-on-invalid-dep=yes runs after all of them;
#  2. when one task of the array fails, that dependent job never runs and is cancelled.
# Exit 0 pass, 1 fail, 77 skip (no Slurm here: slurm_cluster.sh start says why).
# SLURM_TEST_KEEP=1 keeps the cluster's folder (logs, slurm.conf) for a look afterwards.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER=$HERE/slurm_cluster.sh
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-120}

fail() {
    echo "FAIL: $*" >&2
    if [[ -n ${SLURM_CONF:-} ]]; then
        echo "--- squeue:" >&2
        squeue -t all 2>&1 | sed 's/^/    /' >&2
        echo "--- last lines of slurmctld.log:" >&2
        tail -n 15 "$DIR/log/slurmctld.log" 2>/dev/null | sed 's/^/    /' >&2
    fi
    exit 1
}

DIR=$(mktemp -d "${TMPDIR:-/tmp}/nnb-slurm.XXXXXX") || fail "mktemp"
cleanup() {
    bash "$CLUSTER" stop "$DIR"
    if [[ -n ${SLURM_TEST_KEEP:-} ]]; then echo "kept $DIR" >&2; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

t0=$SECONDS
bash "$CLUSTER" start "$DIR"
rc=$?
((rc == 0)) || exit "$rc"   # 77: skipped, with the reason already printed
echo "cluster up in $((SECONDS - t0)) s"
# shellcheck source=/dev/null
source "$DIR/env"

# drain JOBID...: wait until none of the jobs is pending, running or completing.
drain() {
    local ids start=$SECONDS
    ids=$(IFS=,; echo "$*")
    while ((SECONDS - start < DRAIN_TIMEOUT)); do
        [[ -z $(squeue -h -j "$ids" -o %i -t PD,R,CG,CF,S,RQ,RS,RH 2>/dev/null) ]] && return 0
        sleep 0.2
    done
    fail "jobs $ids still queued after $DRAIN_TIMEOUT s"
}

# job_state JOBID: the state slurmctld keeps for a finished job (MinJobAge), e.g. COMPLETED.
job_state() {
    scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1
}

# --- 1. array of 4 tasks, then a merge job that depends on all of them ---------------------------
out=$DIR/out/ok
mkdir -p "$out" "$DIR/merge"
t1=$SECONDS
array=$(sbatch --parsable --job-name=nnb-array --chdir="$DIR" --output="$DIR/log/ok-%A_%a.out" \
    --array=0-3 --wrap "sleep 0.5; echo \$SLURM_ARRAY_TASK_ID > '$out'/task-\$SLURM_ARRAY_TASK_ID") ||
    fail "sbatch of the array job"
array=${array%%;*}
[[ $array =~ ^[0-9]+$ ]] || fail "sbatch --parsable printed '$array', not a job id"
merge=$(sbatch --parsable --job-name=nnb-merge --chdir="$DIR" --output="$DIR/log/ok-merge-%j.out" \
    --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --wrap "ls '$out' > '$DIR/merge/seen.tmp' && mv '$DIR/merge/seen.tmp' '$DIR/merge/seen'") ||
    fail "sbatch of the dependent merge job"
merge=${merge%%;*}
drain "$array" "$merge"
echo "array $array + merge $merge done in $((SECONDS - t1)) s"
for i in 0 1 2 3; do
    [[ -f $out/task-$i ]] || fail "array task $i did not write $out/task-$i"
    [[ $(<"$out/task-$i") == "$i" ]] || fail "task-$i holds '$(<"$out/task-$i")', not $i"
done
[[ -f $DIR/merge/seen ]] || fail "the dependent merge job $merge did not run (state: $(job_state "$merge"))"
seen=$(tr '\n' ' ' <"$DIR/merge/seen")
[[ $seen == "task-0 task-1 task-2 task-3 " ]] ||
    fail "the merge job ran before all array tasks ended: it saw '$seen'"
[[ $(job_state "$merge") == COMPLETED ]] || fail "merge job $merge is $(job_state "$merge"), not COMPLETED"

# --- 2. task 2 of the array fails: the afterok job must be cancelled, not run --------------------
bad=$DIR/out/bad
mkdir -p "$bad"
t1=$SECONDS
array=$(sbatch --parsable --job-name=nnb-array-bad --chdir="$DIR" --output="$DIR/log/bad-%A_%a.out" \
    --array=0-3 --wrap "touch '$bad'/task-\$SLURM_ARRAY_TASK_ID; [ \$SLURM_ARRAY_TASK_ID -ne 2 ]") ||
    fail "sbatch of the failing array job"
array=${array%%;*}
merge=$(sbatch --parsable --job-name=nnb-merge-bad --chdir="$DIR" --output="$DIR/log/bad-merge-%j.out" \
    --dependency="afterok:$array" --kill-on-invalid-dep=yes --wrap "touch '$DIR/merge/bad-ran'") ||
    fail "sbatch of the dependent job after the failing array"
merge=${merge%%;*}
drain "$array" "$merge"
echo "failing array $array + dependent $merge gone in $((SECONDS - t1)) s"
for i in 0 1 2 3; do
    [[ -f $bad/task-$i ]] || fail "task $i of the failing array did not run"
done
[[ ! -e $DIR/merge/bad-ran ]] || fail "job $merge ran although task 2 of its afterok array $array failed"
[[ -z $(squeue -h -j "$merge" -o %i 2>/dev/null) ]] || fail "job $merge is still in the queue"
state=$(job_state "$merge")
[[ $state == CANCELLED ]] || fail "job $merge is '$state', not CANCELLED (--kill-on-invalid-dep=yes)"
state=$(job_state "${array}_2")
[[ $state == FAILED ]] || fail "task 2 of array $array is '$state', not FAILED"

echo "PASS: array + afterok merge ran in order; a failed task cancelled its dependent job ($((SECONDS - t0)) s)"
