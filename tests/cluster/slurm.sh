#!/usr/bin/env bash
# A real single-node SLURM cluster for the tests, without systemd.
#
#   tests/cluster/slurm.sh install          # Debian's slurm-wlm + munge, when missing (needs root + apt)
#   tests/cluster/slurm.sh start DIR        # slurm.conf, state and logs under DIR; prints SLURM_CONF=...
#   tests/cluster/slurm.sh stop DIR
#
# The node has 32 CPUs, 500 GB and one `gpu` generic resource (a count, no device) on paper,
# so GPU-tagged jobs (`sbatch --gpus=1`) schedule. There is no accounting database: clients query
# jobs with squeue (MinJobAge keeps finished jobs visible), and finished jobs are also appended to
# DIR/jobcomp.log.
set -euo pipefail

command=${1:?usage: slurm.sh install|start DIR|stop DIR}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

case "$command" in
install)
    if command -v slurmctld >/dev/null && command -v munged >/dev/null && command -v sbatch >/dev/null; then
        exit 0
    fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "cannot install slurm-wlm and munge: needs root and apt-get" >&2
        exit 3
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq slurm-wlm munge >/dev/null
    ;;
start)
    dir=$(realpath -m "${2:?slurm.sh start DIR}")
    mkdir -p "$dir/state" "$dir/spool"
    if [ "$(id -u)" != 0 ]; then
        echo "a test cluster needs root (slurmd runs jobs as their user)" >&2
        exit 3
    fi
    # munge: the system daemon if it runs, else one started here as the munge user.
    if ! munge -n </dev/null >/dev/null 2>&1; then
        mkdir -p /run/munge /var/log/munge /var/lib/munge
        [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
        chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
        chmod 0700 /etc/munge && chmod 0600 /etc/munge/munge.key
        runuser -u munge -- /usr/sbin/munged
        for _ in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.1; done
        cp /run/munge/munged.pid "$dir/munged.pid"  # started here, so `stop` stops it
    fi
    host=$(hostname -s)
    # The node claims what the profile's real requests need (config_overrides: slurmd trusts this
    # file over the hardware), so profiles/slurm is tested as shipped; jobs simply share the cores.
    cpus=${SLURM_TEST_CPUS:-32}
    memory=${SLURM_TEST_MEMORY_MB:-512000}
    cat >"$dir/slurm.conf" <<CONF
ClusterName=ossinstruct-test
SlurmctldHost=$host
SlurmUser=root
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.log
MinJobAge=600
SchedulerParameters=sched_interval=1
SlurmdParameters=config_overrides
NodeName=$host CPUs=$cpus RealMemory=$memory Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=ALL MaxTime=INFINITE State=UP
CONF
    echo "NodeName=$host Name=gpu File=/dev/null" >"$dir/gres.conf"  # a count with no real device
    # Commands inside a job find the configuration at the standard path only: Snakemake's SLURM
    # job step drops SLURM_* variables (SLURM_CONF included) before its srun. So the files are
    # linked there, unless another cluster's configuration is already in place.
    mkdir -p /etc/slurm
    for name in slurm.conf gres.conf; do
        if [ -e "/etc/slurm/$name" ] && [ "$(readlink "/etc/slurm/$name")" != "$dir/$name" ]; then
            if ! grep -q "ClusterName=ossinstruct-test" "/etc/slurm/$name" 2>/dev/null && [ "$name" = slurm.conf ]; then
                echo "/etc/slurm/$name belongs to another cluster: not replacing it" >&2
                exit 3
            fi
        fi
        ln -sfn "$dir/$name" "/etc/slurm/$name"
    done
    export SLURM_CONF=$dir/slurm.conf
    # From here on, a failure stops what was started (munged too, when this script started it).
    trap 'code=$?; [ "$code" = 0 ] || bash "$0" stop "$dir"' EXIT
    /usr/sbin/slurmctld -c
    /usr/sbin/slurmd
    for _ in $(seq 100); do
        state=$(sinfo -h -N -o %t 2>/dev/null || true)
        case "$state" in idle*|mix*|alloc*) echo "SLURM_CONF=$SLURM_CONF"; exit 0 ;; esac
        sleep 0.2
    done
    echo "the test cluster did not come up (node state: ${state:-none}); logs in $dir" >&2
    tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
    exit 1
    ;;
stop)
    dir=$(realpath -m "${2:?slurm.sh stop DIR}")
    # The daemons this script started (munged only when it started it: DIR/munged.pid).
    for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munged.pid"; do
        [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munged.pid"; do
        for _ in $(seq 50); do
            [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null || break
            sleep 0.1
        done
    done
    for name in slurm.conf gres.conf; do
        [ "$(readlink "/etc/slurm/$name")" = "$dir/$name" ] && rm -f "/etc/slurm/$name"
    done
    true
    ;;
*)
    echo "usage: slurm.sh install|start DIR|stop DIR" >&2
    exit 2
    ;;
esac
