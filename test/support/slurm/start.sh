#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine for the cluster tests: munged, slurmctld and slurmd,
# by hand (PID 1 need not be systemd). Installs Debian's slurm-wlm and munge when they are missing and
# apt-get is allowed (root). Everything it starts and writes lives under one state folder, given as the
# first argument or QUIVER_SLURM_DIR (default: a folder under the system temp dir); it writes
# STATE/env with `export SLURM_CONF=…`, which the tests read. test/support/slurm/stop.sh stops it.
#
#   test/support/slurm/start.sh [STATE_DIR] && . "${STATE_DIR:-/tmp/quiver-slurm}/env" && sinfo
set -euo pipefail
state="${1:-${QUIVER_SLURM_DIR:-${TMPDIR:-/tmp}/quiver-slurm}}"
log() { printf 'slurm: %s\n' "$*" >&2; }

if ! command -v slurmctld >/dev/null 2>&1 && [ ! -x /usr/sbin/slurmctld ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing slurm-wlm and munge (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
  else
    log "slurm-wlm is not installed and cannot be installed here (needs root and apt-get)"
    exit 3
  fi
fi
PATH="$PATH:/usr/sbin"

mkdir -p "$state"/{spool/ctld,spool/d,log,run}
host=$(hostname -s)
cpus=$(nproc)
# Leave a little memory to the system; slurmd refuses to start if RealMemory exceeds what it sees.
mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
user=$(id -un)

cat >"$state/slurm.conf" <<CONF
# One-node cluster for Quiver's tests (written by test/support/slurm/start.sh).
ClusterName=quiver-test
SlurmctldHost=$host
SlurmUser=$user
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$state/spool/ctld
SlurmdSpoolDir=$state/spool/d
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
# Slurm's default lets the controller hold a submitted batch job up to 3 s (batch_sched_delay), to
# schedule many submissions at once on a busy site. On one idle test node that delay is all a job
# waits for: schedule at the next pass of the controller's loop (about a second) instead.
SchedulerParameters=batch_sched_delay=0
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Finished jobs stay visible to squeue/scontrol for this long, so a poller sees their final state.
MinJobAge=600
# A job that asks for no memory gets its share of the node (as at most sites), not all of it:
# otherwise every job would hold the whole node and none would run alongside another.
DefMemPerCPU=$((mem / cpus))
# Quick turnaround for tests: kill a timed-out job soon.
KillWait=5
InactiveLimit=0
SlurmdTimeout=60
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=quiver Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
printf 'export SLURM_CONF=%q\n' "$state/slurm.conf" >"$state/env"
export SLURM_CONF="$state/slurm.conf"

# munge: Debian's package creates the key; create one if this machine has none.
munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
if ! munge_ok; then
  if [ ! -s /etc/munge/munge.key ]; then
    command -v mungekey >/dev/null 2>&1 && mungekey --create >/dev/null 2>&1 \
      || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    chown munge:munge /etc/munge/munge.key 2>/dev/null || true
    chmod 600 /etc/munge/munge.key
  fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  if id munge >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    runuser -u munge -- /usr/sbin/munged
  else
    /usr/sbin/munged --force
  fi
  echo munged >"$state/run/started-munged"
  for _ in $(seq 1 20); do munge_ok && break; sleep 0.25; done
  munge_ok || { log "munged did not start (see /var/log/munge/munged.log)"; exit 1; }
fi

# Stop what this script started if the cluster does not come up.
trap 'status=$?; [ $status = 0 ] || "$(dirname "$0")/stop.sh" "$state"; exit $status' EXIT
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"

# Ready when the node is idle (or mixed) and a trivial job runs through.
for _ in $(seq 1 60); do
  st=$(sinfo -h -o '%t' 2>/dev/null | head -n 1 || true)
  case "$st" in idle* | mix* | alloc*) break ;; esac
  sleep 0.5
done
st=$(sinfo -h -o '%t' 2>/dev/null | head -n 1 || true)
case "$st" in
  idle* | mix* | alloc*) ;;
  *)
    log "the node did not come up (state '${st:-none}'); logs in $state/log"
    tail -n 20 "$state/log/slurmctld.log" "$state/log/slurmd.log" >&2 || true
    exit 1
    ;;
esac
log "one-node cluster up: $host, $cpus CPUs, ${mem} MB; SLURM_CONF=$SLURM_CONF"
