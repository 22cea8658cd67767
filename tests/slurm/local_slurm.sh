#!/usr/bin/env bash
# A single-node Slurm on 127.0.0.1 for tests and CI: munged, slurmctld and
# slurmd run as root, without systemd or cgroups.
#
#   local_slurm.sh start  [STATE_DIR]   start the daemons, wait until the node is idle
#   local_slurm.sh stop   [STATE_DIR]   cancel its jobs, stop the daemons it started
#   local_slurm.sh status [STATE_DIR]   exit 0 when all three daemons run
#
# STATE_DIR (default: $LOCAL_SLURM_DIR, else /tmp/lwo-slurm) holds the munge
# key and socket, Slurm state, logs and pid files. The configuration is
# written to /etc/slurm/slurm.conf, because Slurm job steps started by
# snakemake-executor-plugin-slurm drop every SLURM_* variable, SLURM_CONF
# included, so only the default path is seen everywhere. `stop` removes it
# again, so that Slurm commands elsewhere on the machine fail fast instead of
# waiting for a controller that is gone.
#
# Environment: LOCAL_SLURM_TIMEOUT  seconds to wait for the node to be idle (60).
# Needs the Debian packages from .ci/install-slurm.sh.
set -euo pipefail

readonly SLURM_CONF=/etc/slurm/slurm.conf
readonly CONF_MARKER="# Written by tests/slurm/local_slurm.sh"
readonly NODE_NAME=localhost
readonly PARTITION=debug
# Finished jobs stay visible to squeue this long. The Snakemake profile uses
# squeue for job status (there is no slurmdbd, so sacct cannot answer), and
# the executor plugin falls back to sacct unless MinJobAge is at least 3x its
# init-seconds-before-status-checks.
readonly MIN_JOB_AGE=600

die() {
    echo "local_slurm: error: $*" >&2
    exit 1
}
say() { echo "local_slurm: $*"; }

usage() {
    # The header comment of this file, without its "# ".
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
}

[[ $# -ge 1 && $# -le 2 ]] || usage
command_name=$1
STATE_DIR=${2:-${LOCAL_SLURM_DIR:-/tmp/lwo-slurm}}
[[ "$STATE_DIR" == /* ]] || STATE_DIR="$PWD/$STATE_DIR"
readonly STATE_DIR
readonly TIMEOUT=${LOCAL_SLURM_TIMEOUT:-60}

readonly MUNGE_DIR="$STATE_DIR/munge"
readonly MUNGE_SOCKET="$MUNGE_DIR/munge.socket.2"
readonly MUNGE_KEY="$MUNGE_DIR/munge.key"
readonly LOG_DIR="$STATE_DIR/log"
readonly RUN_DIR="$STATE_DIR/run"
readonly CTLD_STATE_DIR="$STATE_DIR/slurmctld"
readonly SLURMD_SPOOL_DIR="$STATE_DIR/slurmd"

# daemon name -> pid file; stopped in reverse order of start.
readonly DAEMONS=(munged slurmctld slurmd)
pid_file() {
    local dir=${2:-$STATE_DIR}
    case $1 in
        munged) echo "$dir/munge/munged.pid" ;;
        *) echo "$dir/run/$1.pid" ;;
    esac
}
log_file() {
    case $1 in
        munged) echo "$MUNGE_DIR/munged.log" ;;
        *) echo "$LOG_DIR/$1.log" ;;
    esac
}

# Pid of a daemon started from state directory $2 (default: ours), if its pid file names a live process of that
# daemon (a stale file, or a pid reused by another program, gives nothing).
running_pid() {
    local file pid comm
    file=$(pid_file "$1" "${2:-$STATE_DIR}")
    [[ -s "$file" ]] || return 1
    pid=$(tr -dc '0-9' <"$file")
    [[ -n "$pid" ]] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [[ "$comm" == "$1" ]] || return 1
    echo "$pid"
}

require_root_and_binaries() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (the daemons run as root here)"
    local missing=()
    for bin in munged slurmctld slurmd sinfo squeue scancel; do
        command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
    done
    [[ ${#missing[@]} -eq 0 ]] ||
        die "not found: ${missing[*]}; install with .ci/install-slurm.sh"
}

# Refuse to overwrite a slurm.conf we did not write, or one that belongs to a
# local Slurm still running from another state directory.
check_conf_is_ours() {
    [[ -e "$SLURM_CONF" ]] || return 0
    if ! grep -qF "$CONF_MARKER" "$SLURM_CONF"; then
        die "$SLURM_CONF exists and was not written by this script; move it away first"
    fi
    local other_dir
    other_dir=$(sed -n 's/^# State directory: //p' "$SLURM_CONF")
    if [[ -n "$other_dir" && "$other_dir" != "$STATE_DIR" ]] && any_running_in "$other_dir"; then
        die "a local Slurm from $other_dir is running; stop it first: $0 stop $other_dir"
    fi
}

any_running_in() {
    local name
    for name in "${DAEMONS[@]}"; do
        running_pid "$name" "$1" >/dev/null && return 0
    done
    return 1
}

write_slurm_conf() {
    local node_line
    # slurmd -C prints the topology and memory slurmd itself will register;
    # configuring exactly that keeps the node from being drained for
    # "low socket*core*thread count" or "low RealMemory".
    node_line=$(slurmd -C 2>/dev/null | sed -n 's/^NodeName=[^ ]* //p' | head -n 1)
    if [[ -z "$node_line" ]]; then
        local mem_mb
        mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
        node_line="CPUs=$(nproc) RealMemory=$mem_mb"
    fi
    mkdir -p "$(dirname "$SLURM_CONF")"
    cat >"$SLURM_CONF.tmp.$$" <<EOF
$CONF_MARKER; removed by its 'stop'.
# State directory: $STATE_DIR
ClusterName=lwo-local
SlurmctldHost=$NODE_NAME(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$CTLD_STATE_DIR
SlurmdSpoolDir=$SLURMD_SPOOL_DIR
SlurmctldPidFile=$(pid_file slurmctld)
SlurmdPidFile=$(pid_file slurmd)
SlurmctldLogFile=$(log_file slurmctld)
SlurmdLogFile=$(log_file slurmd)
# No systemd, no cgroups: track processes through /proc, bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG_DIR/jobcomp.txt
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=500
MinJobAge=$MIN_JOB_AGE
ReturnToService=2
SlurmdTimeout=60
NodeName=$NODE_NAME NodeAddr=127.0.0.1 $node_line State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE_NAME Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$SLURM_CONF.tmp.$$" "$SLURM_CONF"
}

# Run a daemon (it forks into the background itself) and wait for its pid file.
launch() {
    local name=$1
    shift
    local file
    file=$(pid_file "$name")
    rm -f "$file"
    if ! "$@" >>"$(log_file "$name")" 2>&1; then
        show_log "$name"
        die "$name failed to start (command: $*)"
    fi
    local waited=0
    until running_pid "$name" >/dev/null; do
        if ((waited >= 100)); then
            show_log "$name"
            die "$name did not write a live pid to $file within 10 s"
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    say "$name running (pid $(running_pid "$name"))"
}

show_log() {
    local file
    file=$(log_file "$1")
    if [[ -s "$file" ]]; then
        echo "---- last lines of $file ----" >&2
        tail -n 20 "$file" >&2
        echo "----" >&2
    fi
}

node_state() {
    sinfo --noheader --nodes="$NODE_NAME" --format=%T 2>/dev/null | head -n 1
}

wait_for_idle_node() {
    local deadline=$((SECONDS + TIMEOUT)) state=""
    while ((SECONDS < deadline)); do
        state=$(node_state || true)
        # "idle", or "mixed"/"allocated" when jobs already run on it.
        case $state in
            idle | mixed | allocated) say "node $NODE_NAME is $state"; return 0 ;;
        esac
        sleep 0.5
    done
    echo "local_slurm: node state after ${TIMEOUT} s: '${state:-no answer from slurmctld}'" >&2
    sinfo --list-reasons >&2 || true
    show_log slurmctld
    show_log slurmd
    die "node $NODE_NAME did not become idle"
}

do_status() {
    local all=0 name pid
    for name in "${DAEMONS[@]}"; do
        if pid=$(running_pid "$name"); then
            say "$name running (pid $pid)"
        else
            say "$name not running"
            all=1
        fi
    done
    if ((all == 0)); then
        say "node $NODE_NAME: $(node_state || echo 'no answer')"
    fi
    return $all
}

do_start() {
    require_root_and_binaries
    if do_status >/dev/null 2>&1; then
        say "already running from $STATE_DIR"
        wait_for_idle_node
        return 0
    fi
    if any_running_in "$STATE_DIR"; then
        say "partly running from $STATE_DIR; restarting"
        do_stop
    fi
    check_conf_is_ours
    ((${#MUNGE_SOCKET} < 100)) ||
        die "state directory path too long for a unix socket: $MUNGE_SOCKET"

    mkdir -p "$STATE_DIR" "$LOG_DIR" "$RUN_DIR" "$CTLD_STATE_DIR" "$SLURMD_SPOOL_DIR"
    # munged wants its socket directory searchable by all and writable by
    # none but its owner; the key itself stays private (0600).
    chmod 0755 "$STATE_DIR"
    install -d -m 0755 "$MUNGE_DIR"
    if [[ ! -s "$MUNGE_KEY" ]]; then
        (umask 077 && head -c 1024 /dev/urandom >"$MUNGE_KEY")
    fi
    chmod 0600 "$MUNGE_KEY"

    launch munged munged \
        --socket="$MUNGE_SOCKET" --key-file="$MUNGE_KEY" \
        --pid-file="$(pid_file munged)" --log-file="$(log_file munged)" \
        --seed-file="$MUNGE_DIR/munged.seed"

    write_slurm_conf
    # -c: start without the job state of an earlier run.
    launch slurmctld slurmctld -c -f "$SLURM_CONF"
    launch slurmd slurmd -N "$NODE_NAME" -f "$SLURM_CONF"
    wait_for_idle_node
    say "started from $STATE_DIR (config $SLURM_CONF)"
}

stop_daemon() {
    local name=$1 pid
    if ! pid=$(running_pid "$name"); then
        rm -f "$(pid_file "$name")"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while [[ -e "/proc/$pid" ]] && ((waited < 100)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if [[ -e "/proc/$pid" ]]; then
        say "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(pid_file "$name")"
    say "$name stopped (pid $pid)"
}

do_stop() {
    [[ $(id -u) -eq 0 ]] || die "must run as root"
    # Jobs left running would keep their slurmstepd processes alive after
    # slurmd stops; every job on this private cluster is ours to cancel.
    if running_pid slurmctld >/dev/null; then
        local jobs
        jobs=$(squeue --noheader --format=%A --states=PENDING,RUNNING,SUSPENDED,COMPLETING 2>/dev/null || true)
        if [[ -n "$jobs" ]]; then
            say "cancelling jobs: $(echo $jobs)"
            # shellcheck disable=SC2086
            scancel $jobs 2>/dev/null || true
            local waited=0
            while ((waited < 20)) && [[ -n $(squeue --noheader --format=%A \
                --states=RUNNING,COMPLETING 2>/dev/null || true) ]]; do
                sleep 0.5
                waited=$((waited + 1))
            done
        fi
    fi
    local i
    for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
        stop_daemon "${DAEMONS[i]}"
    done
    if [[ -e "$SLURM_CONF" ]] && grep -qF "# State directory: $STATE_DIR" "$SLURM_CONF" &&
        grep -qF "$CONF_MARKER" "$SLURM_CONF"; then
        rm -f "$SLURM_CONF"
        say "removed $SLURM_CONF"
    fi
    say "stopped (state and logs kept in $STATE_DIR)"
}

case $command_name in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    -h | --help | help) usage ;;
    *) echo "local_slurm: unknown command '$command_name'" >&2; usage ;;
esac
