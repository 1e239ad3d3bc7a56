#!/usr/bin/env bash
# A throwaway single-host Slurm cluster for tests: every file it writes (configuration, munge
# key and socket, state, spool, pid and log files) lives in DIR, so several clusters can run on
# one machine at once (CTest -j2) and `stop DIR` never touches another DIR's daemons.
#
#   cluster.sh start DIR   installs slurmctld/slurmd/slurm-client/munge when missing, starts
#                          munged, slurmctld and slurmd, waits until the node is idle and prints
#                          `export SLURM_CONF=...` lines (also written to DIR/env.sh).
#   cluster.sh stop DIR    cancels every job and stops the daemons; exit 0 if already stopped.
#
# Exit codes of start: 0 up; 77 the environment cannot run Slurm (one-line reason on stderr:
# not root, packages missing and not installable, ...); 1 the cluster did not come up (a bug
# here: the logs' tails are printed).
set -uo pipefail

readonly SKIP=77
readonly START_TIMEOUT_S=60
readonly STOP_WAIT_S=10
readonly PACKAGES=(slurmctld slurmd slurm-client munge)
readonly DAEMONS='slurmctld|slurmscriptd|slurmd|slurmstepd|munged'
# Held while a cluster picks its ports and starts, so two starts at once never pick the same ports.
readonly START_LOCK=/tmp/quantflow-slurm-start.lock

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}

skip() {
  echo "slurm test cluster unavailable: $*" >&2
  exit "$SKIP"
}

log_tails() {
  local log
  for log in "$DIR"/log/*.log; do
    [[ -f $log ]] || continue
    echo "--- tail of $log" >&2
    tail -n 25 "$log" >&2
  done
}

fail() {
  echo "slurm test cluster failed to start: $*" >&2
  log_tails
  stop_cluster >/dev/null 2>&1
  exit 1
}

packages_missing() {
  local p
  for p in "${PACKAGES[@]}"; do
    [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || return 0
  done
  return 1
}

ensure_packages() {
  packages_missing || return 0
  [[ $(id -u) -eq 0 ]] || skip "packages ${PACKAGES[*]} are missing and installing them needs root"
  command -v apt-get >/dev/null || skip "packages ${PACKAGES[*]} are missing and apt-get is absent"
  mkdir -p "$DIR/log"
  local log="$DIR/log/apt.log"
  # Two clusters starting at once must not run apt-get together (dpkg's own lock makes one fail).
  (
    flock -w 600 8 || exit 1
    packages_missing || exit 0
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"; } >"$log" 2>&1
  ) 8>/tmp/quantflow-slurm-apt.lock
  packages_missing && skip "installing ${PACKAGES[*]} with apt-get failed: $(tail -n 1 "$log" 2>/dev/null)"
  return 0
}

# True when a TCP socket of this machine uses `port` (any state, IPv4 or IPv6).
port_in_use() {
  local hex
  hex=$(printf ':%04X ' "$1")
  grep -qs -- "$hex" /proc/net/tcp /proc/net/tcp6
}

# A port below the usual ephemeral range (32768+) that no socket uses now.
free_port() {
  local port tries
  for ((tries = 0; tries < 200; tries++)); do
    port=$((10000 + RANDOM % 22000))
    [[ $port -ne ${1:-0} ]] && ! port_in_use "$port" && { echo "$port"; return 0; }
  done
  return 1
}

write_config() {
  local host=$1 ctld_port=$2 slurmd_port=$3
  local cpus mem_mb
  cpus=$(nproc)
  # Below the real memory, or slurmd reports "Low RealMemory" and the node is drained.
  mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  cat >"$DIR/slurm.conf" <<EOF
# Written by tests/support/slurm/cluster.sh for a throwaway test cluster.
ClusterName=quantflowtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket.2
CredType=cred/munge
MpiDefault=none
# No cgroups inside containers.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# One CPU per task, memory counted but only DefMemPerCPU when a job asks none: several array
# tasks share the node (without it a job asking no memory would take all of it).
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=256
ReturnToService=2
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$DIR/plugstack.conf
InactiveLimit=0
KillWait=5
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  : >"$DIR/plugstack.conf"
}

start_munge() {
  mkdir -p "$DIR/munge"
  chmod 0700 "$DIR/munge"
  if [[ ! -s $DIR/munge/munge.key ]]; then
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none || fail "cannot write the munge key"
  fi
  chmod 0400 "$DIR/munge/munge.key"
  # --force: munged refuses to run as root, and a socket directory under /tmp, without it.
  munged --force --socket="$DIR/munge/munge.socket.2" --key-file="$DIR/munge/munge.key" \
    --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" \
    --seed-file="$DIR/munge/munged.seed" 9>&- || fail "munged did not start"
  munge --socket="$DIR/munge/munge.socket.2" -n </dev/null |
    unmunge --socket="$DIR/munge/munge.socket.2" >/dev/null 2>&1 || fail "munge cannot encode and decode a credential"
}

node_state() { SLURM_CONF="$DIR/slurm.conf" sinfo -h -N -o '%t' 2>/dev/null | head -n 1; }

start_cluster() {
  ensure_packages
  [[ $(id -u) -eq 0 ]] || skip "the daemons need root (SlurmUser=root) and this runs as uid $(id -u)"
  local tool
  for tool in munged munge slurmctld slurmd sinfo sbatch squeue scancel flock; do
    command -v "$tool" >/dev/null || skip "$tool is not on PATH after installing ${PACKAGES[*]}"
  done
  stop_cluster >/dev/null 2>&1  # a previous run's daemons of this DIR
  rm -rf "$DIR/state" "$DIR/spool" "$DIR/run"
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/run" "$DIR/log"
  local host
  host=$(hostname -s 2>/dev/null || uname -n)
  host=${host%%.*}
  # slurmd's step sockets are SPOOL/NODE_JOBID.STEPID, and a Unix socket path holds 107 bytes.
  local longest_socket="$DIR/spool/${host}_99999999.4294967291"
  ((${#longest_socket} <= 107)) || fail "DIR is too long for slurmd's Unix sockets (${#longest_socket} > 107 bytes): $DIR"

  exec 9>"$START_LOCK"
  flock -w 300 9 || skip "another test cluster held $START_LOCK for 300 s"
  local ctld_port slurmd_port
  ctld_port=$(free_port) || fail "no free TCP port for slurmctld"
  slurmd_port=$(free_port "$ctld_port") || fail "no free TCP port for slurmd"
  write_config "$host" "$ctld_port" "$slurmd_port"
  start_munge
  # 9>&-: the daemons must not hold the start lock.
  (cd "$DIR" && slurmctld -c -f "$DIR/slurm.conf" 9>&-) || fail "slurmctld did not start"
  (cd "$DIR" && slurmd -f "$DIR/slurm.conf" -N "$host" 9>&-) || fail "slurmd did not start"

  local deadline=$((SECONDS + START_TIMEOUT_S)) state=""
  while ((SECONDS < deadline)); do
    state=$(node_state)
    [[ $state == idle ]] && break
    sleep 0.5
  done
  flock -u 9
  exec 9>&-
  [[ $state == idle ]] || fail "node $host is '${state:-not listed}' after ${START_TIMEOUT_S} s, not idle"

  local env_lines="export SLURM_CONF=$DIR/slurm.conf"
  echo "$env_lines" >"$DIR/env.sh"
  echo "$env_lines"
}

# True when process `pid` belongs to this DIR: its command line names a file in DIR (the
# daemons), or it holds a file in DIR open (slurmstepd writes to slurmd's log).
belongs_here() {
  local pid=$1
  { tr '\0' '\n' <"/proc/$pid/cmdline" | grep -q -F -- "$DIR/"; } 2>/dev/null && return 0
  find "/proc/$pid/fd" -maxdepth 1 -type l -lname "$DIR/*" 2>/dev/null | grep -q .
}

# Pids of this DIR's processes among those whose name matches `names` (an ERE).
cluster_pids() {
  local names=$1 proc comm
  for proc in /proc/[0-9]*; do
    comm=$(cat "$proc/comm" 2>/dev/null) || continue
    [[ $comm =~ ^($names)$ ]] && belongs_here "${proc#/proc/}" && echo "${proc#/proc/}"
  done
}

# TERM, then KILL after STOP_WAIT_S, this DIR's processes named by `names`.
terminate() {
  local names=$1 pids deadline
  pids=$(cluster_pids "$names")
  [[ -z $pids ]] && return 0
  kill -TERM $pids 2>/dev/null
  deadline=$((SECONDS + STOP_WAIT_S))
  while ((SECONDS < deadline)) && [[ -n $(cluster_pids "$names") ]]; do sleep 0.2; done
  pids=$(cluster_pids "$names")
  [[ -z $pids ]] && return 0
  kill -KILL $pids 2>/dev/null
  sleep 0.5
}

stop_cluster() {
  if [[ -f $DIR/slurm.conf ]] && [[ -n $(cluster_pids 'slurmctld') ]]; then
    # Jobs first, so slurmstepd ends their processes while slurmd still runs.
    SLURM_CONF="$DIR/slurm.conf" timeout 10 scancel --full --user="$(id -un)" >/dev/null 2>&1
    local deadline=$((SECONDS + STOP_WAIT_S))
    while ((SECONDS < deadline)) &&
      [[ -n $(SLURM_CONF="$DIR/slurm.conf" timeout 5 squeue -h -o %i 2>/dev/null) ]]; do
      sleep 0.5
    done
  fi
  # munged last: slurmctld and slurmd authenticate their goodbyes through it.
  terminate 'slurmd|slurmstepd|slurmctld|slurmscriptd'
  terminate "$DAEMONS"
  rm -f "$DIR"/run/*.pid "$DIR/munge/munge.socket.2" "$DIR/munge/munge.socket.2.lock"
  local pids
  pids=$(cluster_pids "$DAEMONS")
  if [[ -n $pids ]]; then
    echo "slurm test cluster: processes $pids of $DIR survived SIGKILL" >&2
    return 1
  fi
  return 0
}

[[ $# -eq 2 ]] || usage
mkdir -p "$2" || { echo "cannot create $2" >&2; exit 1; }
DIR=$(cd "$2" && pwd -P)
readonly DIR
case $1 in
  start) start_cluster ;;
  stop) stop_cluster ;;
  *) usage ;;
esac
