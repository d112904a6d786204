#!/usr/bin/env bash
# A real single-node Slurm on this host, for the integration tests.
#
#   tests/infra/slurm.sh start    install slurm-wlm and munge when missing (apt, as root),
#                                 write a single-node slurm.conf, start munged, slurmctld
#                                 and slurmd without systemd, wait until the node is idle
#   tests/infra/slurm.sh stop     stop the daemons started by `start`
#   tests/infra/slurm.sh status   exit 0 when the node answers `sinfo`
#
# The configuration is written to /etc/slurm/slurm.conf only when none exists or the
# existing one was written by this script, so a real cluster's file is never touched.
# Accounting is off (no slurmdbd): jobs are read with squeue and scontrol, which keep
# ended jobs for MinJobAge seconds. Process tracking is proctrack/pgid (no cgroups in
# this sandbox; unlike linuxproc it also ends what a job left running in the
# background). The node claims at least 8 CPUs, so several one-CPU blocks run side by
# side; the partition `accounts` admits only account `plait` (others pend for ever). Logs and state go to $PLAIT_SLURM_STATE
# (default /var/tmp/plait-slurm). On failure the reason is printed on stderr.
set -euo pipefail

STATE=${PLAIT_SLURM_STATE:-/var/tmp/plait-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by plait tests/infra/slurm.sh"
WAIT=${PLAIT_SLURM_WAIT:-60}

say() { echo "slurm.sh: $*" >&2; }
die() { say "$*"; exit 1; }

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
        return
    fi
    [ "$(id -u)" = 0 ] || die "slurm-wlm and munge are not installed and this is not root (apt-get needs root)"
    say "installing slurm-wlm and munge from Debian"
    apt-get update -qq >"$STATE/apt.log" 2>&1 || { cat "$STATE/apt.log" >&2; die "apt-get update failed"; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge \
        >>"$STATE/apt.log" 2>&1 || { tail -20 "$STATE/apt.log" >&2; die "apt-get install slurm-wlm munge failed"; }
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return
    fi
    if [ ! -s /etc/munge/munge.key ]; then
        if command -v mungekey >/dev/null; then
            mungekey --create --keyfile=/etc/munge/munge.key
        else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        fi
    fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /etc/munge/munge.key /run/munge /var/log/munge /var/lib/munge
    chmod 0400 /etc/munge/munge.key
    chmod 0755 /run/munge
    rm -f /run/munge/munged.pid
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return
        sleep 0.1
    done
    die "munged does not answer (munge -n | unmunge fails); see /var/log/munge/munged.log"
}

write_conf() {
    local node cpus mem
    node=$(hostname -s)
    # More CPUs than the host has (config_overrides keeps slurmd from draining the node
    # for it), so that the tests can run several one-CPU blocks side by side.
    cpus=${PLAIT_SLURM_CPUS:-$(( $(nproc) > 8 ? $(nproc) : 8 ))}
    mem=$(awk '/^MemTotal:/ {print int($2 / 1024) - 1024}' /proc/meminfo)
    [ "$mem" -gt 256 ] || mem=256
    if [ -e "$CONF" ] && ! head -n 1 "$CONF" | grep -qF "$MARK"; then
        say "keeping $CONF (not written by this script)"
        return
    fi
    mkdir -p /etc/slurm "$STATE/ctld" "$STATE/d"
    cat >"$CONF.new" <<EOF
$MARK
ClusterName=plait
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=300
KillWait=5
SlurmdParameters=config_overrides
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
PartitionName=accounts Nodes=$node AllowAccounts=plait MaxTime=INFINITE State=UP
EOF
    if [ -e "$CONF" ] && cmp -s "$CONF" "$CONF.new"; then
        rm -f "$CONF.new"
    else
        mv "$CONF.new" "$CONF"
        # A changed configuration needs restarted daemons.
        stop_daemons
    fi
}

stop_daemons() {
    local pidfile
    for pidfile in "$STATE/slurmd.pid" "$STATE/slurmctld.pid"; do
        if alive "$pidfile"; then
            kill "$(cat "$pidfile")" 2>/dev/null || true
            for _ in $(seq 100); do alive "$pidfile" || break; sleep 0.1; done
            alive "$pidfile" && kill -9 "$(cat "$pidfile")" 2>/dev/null || true
        fi
        rm -f "$pidfile"
    done
}

node_idle() {
    local state
    state=$(sinfo --noheader --nodes="$(hostname -s)" --format=%t 2>/dev/null | head -n 1)
    case "$state" in idle | mix | alloc) return 0 ;; esac
    return 1
}

start() {
    mkdir -p "$STATE"
    install_packages
    start_munge
    write_conf
    if ! alive "$STATE/slurmctld.pid"; then
        slurmctld || die "slurmctld did not start; see $STATE/slurmctld.log"
    fi
    if ! alive "$STATE/slurmd.pid"; then
        slurmd || die "slurmd did not start; see $STATE/slurmd.log"
    fi
    local waited=0
    until node_idle; do
        # A node left DOWN or DRAINED by an earlier run is put back into service.
        scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
        sleep 0.2
        waited=$((waited + 1))
        if [ "$waited" -ge $((WAIT * 5)) ]; then
            sinfo >&2 || true
            tail -n 20 "$STATE/slurmctld.log" "$STATE/slurmd.log" >&2 || true
            die "the node did not become idle within $WAIT s"
        fi
    done
    say "Slurm is up: $(sinfo --noheader --format='%P %D %t %c' | head -n 1)"
}

case "${1:-}" in
    start) start ;;
    stop) stop_daemons ;;
    status) node_idle ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
