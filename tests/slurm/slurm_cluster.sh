#!/usr/bin/env bash
# A throw-away single-node Slurm cluster for tests, run as root, everything under one folder.
#
#   slurm_cluster.sh start DIR   munged, slurmctld and slurmd on this machine, on ports of their
#                                own, with config, state, spool, logs, pid files, munge key and
#                                socket all under DIR; returns once the node is idle and writes
#                                DIR/env (source it: SLURM_CONF, ...) for sbatch/squeue/scontrol.
#   slurm_cluster.sh stop DIR    cancels what is still queued, stops the three daemons started by
#                                `start DIR` (DIR/run/*.pid) and waits for them to exit.
#
# start exits 77 (ctest's SKIP_RETURN_CODE) with one line "slurm: <why>" on stderr when Slurm
# cannot run here: not root, slurmctld/slurmd/munged/sbatch missing (tools/install-deps.sh
# --slurm), a daemon died (the tail of its log follows the line) or the node never became idle.
# Whatever it had started is stopped first. Other failures (bad usage) exit 2.
#
# No accounting (no slurmdbd): sacct does not work; use squeue and `scontrol show job`, which keep
# finished jobs for MinJobAge (600 s here). Slurm 22.05 (Debian 12) is what this is written for.
set -uo pipefail

SLURM_START_TIMEOUT=${SLURM_START_TIMEOUT:-60}   # seconds for the node to become idle
PROG=slurm

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}

skip() { # skip WHY [LOGFILE]: stop what was started, say why on one line, exit 77
    local why=$1 log=${2:-}
    stop_daemons "$DIR" quiet
    echo "$PROG: $why" >&2
    if [[ -n $log && -s $log ]]; then
        echo "--- last lines of $log:" >&2
        tail -n 25 "$log" | sed 's/^/    /' >&2
    fi
    exit 77
}

running() { # running PID: a live process, not a zombie (the daemons outlive `start`, their
    # parent, and an init that does not reap leaves them as zombies once they exit)
    local state
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

alive() { # alive PIDFILE: the pid in it is running
    [[ -s $1 ]] && running "$(<"$1")"
}

port_in_use() { # port_in_use PORT: some TCP socket (any state, v4 or v6) uses it locally
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

pick_ports() { # two consecutive free ports in 20000..59998, into CTLD_PORT and SLURMD_PORT
    local i p
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        if ! port_in_use "$p" && ! port_in_use $((p + 1)); then
            CTLD_PORT=$p
            SLURMD_PORT=$((p + 1))
            return 0
        fi
    done
    return 1
}

stop_daemons() { # stop_daemons DIR [quiet]: TERM each daemon of DIR/run/*.pid, KILL after 15 s
    local dir=$1 name pidfile pid i
    local -a pids=()
    for name in slurmd slurmctld munged; do  # slurmd first: it reports to slurmctld on the way out
        pidfile=$dir/run/$name.pid
        if alive "$pidfile"; then
            pid=$(<"$pidfile")
            kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
        fi
    done
    for ((i = 0; i < 150; i++)); do
        local left=0
        for pid in "${pids[@]}"; do
            running "$pid" && left=1
        done
        ((left)) || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        if running "$pid"; then
            [[ ${2:-} == quiet ]] || echo "$PROG: pid $pid did not stop in 15 s, killing it" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
    done
    # Job steps outlive slurmd: end the slurmstepd processes (and their job processes) of this
    # cluster, known by the SLURM_CONF in their environment.
    kill_stepds "$dir"
    rm -f "$dir"/run/*.pid
}

kill_stepds() { # kill_stepds DIR: slurmstepd processes whose environment names DIR/slurm.conf
    local dir=$1 p pid
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [[ $(cat "$p/comm" 2>/dev/null) == slurmstepd ]] || continue
        if tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "SLURM_CONF=$dir/slurm.conf"; then
            pkill -KILL -s "$(awk '{print $6}' "$p/stat" 2>/dev/null)" 2>/dev/null
            kill -KILL "$pid" 2>/dev/null
        fi
    done
}

start_daemon() { # start_daemon NAME CMD...: in the background, stdio to DIR/log/NAME.out, pid file
    local name=$1
    shift
    "$@" </dev/null >"$DIR/log/$name.out" 2>&1 &
    echo $! >"$DIR/run/$name.pid"
}

write_conf() {
    local host=$1 cpus=$2 mem=$3
    cat >"$DIR/slurm.conf" <<EOF
# Written by tests/slurm/slurm_cluster.sh start $DIR
ClusterName=nnbtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket.2
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/slurmd
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPidFile=$DIR/run/slurmctld.daemon.pid
SlurmdPidFile=$DIR/run/slurmd.daemon.pid
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
LaunchType=launch/slurm
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=1,batch_sched_delay=0,sched_min_interval=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge=600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
MessageTimeout=10
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
    local d
    [[ $(id -u) -eq 0 ]] || skip "not root (the test cluster runs munged, slurmctld and slurmd as root)"
    for d in munged mungekey slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
        command -v "$d" >/dev/null 2>&1 || skip "$d not installed; run tools/install-deps.sh --slurm"
    done
    if alive "$DIR/run/slurmctld.pid" || alive "$DIR/run/slurmd.pid" || alive "$DIR/run/munged.pid"; then
        echo "$PROG: a cluster is already running in $DIR (slurm_cluster.sh stop $DIR)" >&2
        exit 2
    fi
    local sock=$DIR/munge/munge.socket.2
    ((${#sock} < 100)) || skip "DIR too long for the munge socket path ($sock); use a shorter DIR"

    mkdir -p "$DIR"/{munge,state,spool/slurmd,log,run,out} || skip "cannot create folders in $DIR"
    chmod 0711 "$DIR/munge"
    chmod 0700 "$DIR/log" "$DIR/run" "$DIR/state" "$DIR/spool"
    rm -f "$DIR"/log/* "$DIR"/run/* "$sock" "$sock.lock"

    # munge: a key of our own, our own socket; as root munged wants --force.
    local key=$DIR/munge/munge.key
    if ! mungekey --create --keyfile="$key" --force >/dev/null 2>&1; then
        dd if=/dev/urandom of="$key" bs=1024 count=1 status=none || skip "cannot write a munge key"
    fi
    chmod 0400 "$key"
    start_daemon munged munged --foreground --force --socket="$sock" --key-file="$key" \
        --log-file="$DIR/log/munged.log" --pid-file="$DIR/run/munged.daemon.pid" \
        --seed-file="$DIR/munge/munged.seed" --num-threads=2
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -S $sock ]] && break
        alive "$DIR/run/munged.pid" || break
        sleep 0.1
    done
    if ! alive "$DIR/run/munged.pid" || [[ ! -S $sock ]]; then
        skip "munged did not start" "$(daemon_log munged)"
    fi
    if command -v munge >/dev/null && command -v unmunge >/dev/null; then
        munge -n -S "$sock" | unmunge -S "$sock" >/dev/null 2>&1 ||
            skip "munged does not answer on $sock" "$(daemon_log munged)"
    fi

    local host cpus mem
    host=$(hostname -s 2>/dev/null) || host=
    [[ -n $host ]] || skip "hostname -s gives no host name"
    cpus=$(nproc)
    mem=$(awk '/^MemTotal:/ { m = int($2 / 1024) - 512; print (m > 100 ? m : 100) }' /proc/meminfo)
    [[ -n $mem ]] || mem=1
    pick_ports || skip "no two free TCP ports found in 20000-59999"
    write_conf "$host" "$cpus" "$mem"
    export SLURM_CONF=$DIR/slurm.conf

    start_daemon slurmctld slurmctld -D -f "$DIR/slurm.conf"
    for ((i = 0; i < 100; i++)); do
        alive "$DIR/run/slurmctld.pid" || skip "slurmctld died on start" "$(daemon_log slurmctld)"
        scontrol ping 2>/dev/null | grep -q 'is UP' && break
        sleep 0.2
    done
    start_daemon slurmd slurmd -D -f "$DIR/slurm.conf" -N "$host"

    local t0=$SECONDS state=
    while ((SECONDS - t0 < SLURM_START_TIMEOUT)); do
        alive "$DIR/run/slurmctld.pid" || skip "slurmctld died" "$(daemon_log slurmctld)"
        alive "$DIR/run/slurmd.pid" || skip "slurmd died" "$(daemon_log slurmd)"
        state=$(sinfo -h -N -n "$host" -o '%T' 2>/dev/null | head -n 1)
        [[ $state == idle ]] && break
        sleep 0.2
    done
    [[ $state == idle ]] ||
        skip "node $host not idle after ${SLURM_START_TIMEOUT} s (state: ${state:-none})" "$(daemon_log slurmd)"

    cat >"$DIR/env" <<EOF
# source this for the Slurm client commands (sbatch, squeue, scontrol, scancel, sinfo) to talk to
# the test cluster in $DIR; no accounting, so no sacct.
export SLURM_CONF=$DIR/slurm.conf
export SLURM_TEST_CLUSTER_DIR=$DIR
export SLURM_TEST_NODE=$host
export SLURM_TEST_PARTITION=debug
unset SLURM_JOB_ID SLURM_JOBID SLURM_ARRAY_JOB_ID SLURM_ARRAY_TASK_ID SQUEUE_FORMAT SQUEUE_FORMAT2 SQUEUE_SORT SBATCH_PARTITION SBATCH_ACCOUNT SLURM_CLUSTERS
EOF
    echo "$PROG: cluster up in $DIR (node $host, $cpus CPUs, ports $CTLD_PORT/$SLURMD_PORT)"
}

daemon_log() { # the log that says why NAME died: its log file, else its stdout/stderr
    local name=$1
    if [[ -s $DIR/log/$name.log ]]; then echo "$DIR/log/$name.log"; else echo "$DIR/log/$name.out"; fi
}

stop() {
    [[ -d $DIR ]] || exit 0
    if [[ -f $DIR/slurm.conf ]] && alive "$DIR/run/slurmctld.pid"; then
        export SLURM_CONF=$DIR/slurm.conf
        # Cancel whatever is queued or running, give the steps a moment to end cleanly.
        timeout 10 scancel --quiet --user="$(id -un)" >/dev/null 2>&1
        local i
        for ((i = 0; i < 50; i++)); do
            [[ -z $(timeout 5 squeue -h -o %i -t PD,R,CG,CF,S 2>/dev/null) ]] && break
            sleep 0.1
        done
    fi
    stop_daemons "$DIR"
}

[[ $# -eq 2 ]] || usage
DIR=$2
[[ -n $DIR ]] || usage
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
DIR=${DIR%/}
[[ $DIR != *[[:space:]]* ]] || { echo "$PROG: DIR must not contain white space (slurm.conf paths): '$DIR'" >&2; exit 2; }
case $1 in
    start) start ;;
    stop) stop ;;
    *) usage ;;
esac
