"""plait-mpi: the launchers ``mpiexec`` (MPICH, Intel MPI) and ``mpirun`` (Open MPI),
and :func:`detect_flavor`, which tells which MPI an executable belongs to."""

from plait_mpi.flavors import Flavor, detect_flavor
from plait_mpi.launchers import MpiexecLauncher, MpiLauncher, MpirunLauncher

__all__ = ["Flavor", "MpiLauncher", "MpiexecLauncher", "MpirunLauncher", "detect_flavor"]
