"""plait-psij: blocks as jobs of any PSI/J job executor (Slurm, PBS, LSF, Flux, local)."""

from plait_psij.provider import PSIJProvider

__all__ = ["PSIJProvider"]
