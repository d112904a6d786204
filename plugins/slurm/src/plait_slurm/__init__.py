"""plait-slurm: the Slurm provider (``slurm``) and the launchers ``srun`` and
``srun-mpi``."""

from plait_slurm.launchers import SrunLauncher, SrunMPILauncher
from plait_slurm.provider import SlurmProvider

__all__ = ["SlurmProvider", "SrunLauncher", "SrunMPILauncher"]
