#!/bin/sh
# Installs the Debian 12 packages nnbench builds against, if any is missing.
# Run as root (or through sudo). The CUDA toolkit is not a Debian package here:
# when /usr/local/cuda (nvcc, cuDNN, cuBLAS) is absent the CUDA runners are
# simply not built.
#
# --slurm: also the single-node Slurm cluster that the tests labelled `slurm`
# start by themselves (tests/slurm/slurm_cluster.sh): slurmctld, slurmd, the
# client commands and munge. Without it those tests report themselves skipped.
# --postgres: also the PostgreSQL server, which the tests labelled `postgres`
# start by themselves (tests/postgres/pg_cluster.sh: a throw-away server in a
# temporary folder). Without it those tests report themselves skipped.
# --browser: also Chromium, which the tests labelled `browser` run headless on
# the pages of `nnbench report` (tests/report_should_draw_in_a_browser.c);
# without it they report themselves skipped.
set -eu
packages="build-essential cmake pkg-config git libopenblas-dev libdnnl-dev libcjson-dev libsqlite3-dev libpq-dev"
packages="$packages libjs-chart.js" # nnbench report: Chart.js, inlined into each page it writes
for arg in "$@"; do
    case "$arg" in
        --slurm) packages="$packages slurmctld slurmd slurm-client munge" ;;
        --postgres) packages="$packages postgresql" ;;
        --browser) packages="$packages chromium" ;;
        -h|--help)
            echo "usage: $0 [--slurm] [--postgres] [--browser]"
            exit 0 ;;
        *)
            echo "install-deps: unknown argument '$arg' (usage: $0 [--slurm] [--postgres] [--browser])" >&2
            exit 2 ;;
    esac
done
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages:$missing; run as root (sudo $0 $*)" >&2
    exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
