#!/bin/sh
# How often `nnbench --ab X X` (the same runner on both sides) wrongly says
# faster/slower, how long it takes, and how long a known 5% difference
# (X against X@--seqLength=<1.05 T>: 5% more time steps) takes to be found.
#   usage: tools/ab_calibration/ab-calibration.sh [RUNS] [RUNNER] [nnbench flags...]
#   e.g.   tools/ab_calibration/ab-calibration.sh 20 jit_premul --threads 2
# Prints one line per run and a summary; exits 0 (it measures, it does not judge).
set -eu
runs=${1:-20}
runner=${2:-jit_premul}
[ $# -ge 2 ] && shift 2 || shift $#
bin=${NNBENCH:-build/bin/nnbench}
seq_length=100
slower_seq=$((seq_length * 105 / 100))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

one() { # label, then nnbench arguments; prints "label verdict rounds seconds"
    label=$1
    shift
    "$bin" --device cpu --seqLength "$seq_length" "$@" 2>"$tmp/err" >/dev/null || true
    verdict=$(sed -n 's/^verdict ([a-z]*): \([a-z]*\).*/\1/p' "$tmp/err")
    rounds=$(sed -n 's/^\([0-9]*\) rounds in \([0-9.]*\) s.*/\1 \2/p' "$tmp/err")
    echo "$label ${verdict:-error} ${rounds:-? ?}"
}

same=0 wrong=0 undecided=0
for i in $(seq "$runs"); do
    line=$(one "same-$i" --ab "$runner" "$runner" "$@")
    echo "$line"
    case $line in
    *" same "*) same=$((same + 1)) ;;
    *" faster "* | *" slower "*) wrong=$((wrong + 1)) ;;
    *) undecided=$((undecided + 1)) ;;
    esac
done
found=0
for i in 1 2 3 4 5; do
    line=$(one "5pct-$i" --ab "$runner" "$runner@--seqLength=$slower_seq" "$@")
    echo "$line"
    case $line in *" slower "*) found=$((found + 1)) ;; esac
done
echo "summary: --ab $runner $runner: $same same, $undecided undecided, $wrong faster/slower of $runs runs;" \
    "5% slower (--seqLength $slower_seq vs $seq_length) found $found of 5"
