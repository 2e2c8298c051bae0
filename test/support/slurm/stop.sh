#!/usr/bin/env bash
# Stops what test/support/slurm/start.sh started (same STATE_DIR argument or QUIVER_SLURM_DIR):
# cancels every job still queued, then stops slurmd, slurmctld and, if the start script started it, munged.
set -uo pipefail
state="${1:-${QUIVER_SLURM_DIR:-${TMPDIR:-/tmp}/quiver-slurm}}"
PATH="$PATH:/usr/sbin"
[ -f "$state/slurm.conf" ] || exit 0
export SLURM_CONF="$state/slurm.conf"
scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
for d in slurmd slurmctld; do
  pidfile="$state/run/$d.pid"
  if [ -s "$pidfile" ]; then
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
done
if [ -f "$state/run/started-munged" ]; then
  if [ -s /run/munge/munged.pid ]; then kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true; else pkill -x munged 2>/dev/null || true; fi
  rm -f "$state/run/started-munged"
fi
