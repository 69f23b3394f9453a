#!/usr/bin/env bash
# Starts the engines the distributed tests run against, on this machine, as root: munge and a
# single-node Slurm cluster (slurmctld + slurmd, this host, its CPUs), and Redis on 127.0.0.1:6379.
# Safe to run again: what is already running is left alone. Installed by scripts/setup.sh
# (redis-server, slurm-wlm, munge).
#
#   bash scripts/services.sh          # both
#   bash scripts/services.sh slurm    # or only one
#   bash scripts/services.sh redis
set -euo pipefail
what="${1:-all}"
running() { pgrep -x "$1" >/dev/null 2>&1; }

start_redis() {
  command -v redis-server >/dev/null || { echo "services: redis-server is not installed" >&2; return 1; }
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return 0; fi
  redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes \
    --logfile /tmp/lethe-redis.log
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "services: redis did not start (see /tmp/lethe-redis.log)" >&2
  return 1
}

start_slurm() {
  command -v slurmctld >/dev/null || { echo "services: slurm-wlm is not installed" >&2; return 1; }
  [[ $(id -u) -eq 0 ]] || { echo "services: starting Slurm needs root" >&2; return 1; }
  if [[ ! -s /etc/munge/munge.key ]]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge/munge.key 2>/dev/null || true
  chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  running munged || su -s /bin/sh munge -c /usr/sbin/munged 2>/dev/null || /usr/sbin/munged --force
  local host cpus
  host=$(hostname -s)
  cpus=$(nproc)
  local conf=/etc/slurm/slurm.conf
  if [[ -f $conf ]] && ! grep -q '^# lethe single-node' "$conf"; then
    echo "services: $conf is not ours; starting Slurm with it as it is"
  else
    mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
    cat >"$conf" <<CONF
# lethe single-node cluster (scripts/services.sh)
ClusterName=lethe
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=30
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  fi
  running slurmctld || /usr/sbin/slurmctld
  running slurmd || /usr/sbin/slurmd
  for _ in $(seq 100); do
    sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)' && return 0
    scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
    sleep 0.2
  done
  echo "services: slurm did not come up (see /var/log/slurm/)" >&2
  return 1
}

case "$what" in
  redis) start_redis ;;
  slurm) start_slurm ;;
  all) start_redis && start_slurm ;;
  *) echo "usage: $0 [all|redis|slurm]" >&2; exit 2 ;;
esac
