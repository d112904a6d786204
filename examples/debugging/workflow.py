"""The workflow of docs/tutorials/debugging.rst: ``python workflow.py CONFIG_FILE``.

Four samples are normalised in parallel; one of them has no signal, so its task fails,
and so does the total that depends on it. The script shows what each failure says and
what the tasks logged.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import plait
from plait import python_app


@python_app
def normalise(sample: str) -> float:
    log = plait.app_logger()
    log.info("normalising %s", sample)
    signal = float(sample.rpartition("-")[2])
    if signal == 0:
        raise ValueError(f"sample {sample} has no signal")
    log.info("signal %g", signal)
    return 1 / signal


@python_app
def total(*values: float) -> float:
    return sum(values)


def main(config_file: str) -> None:
    with plait.load(config_file) as kernel:
        samples = ["s-1", "s-2", "s-4", "s-0"]
        normalised = [normalise(sample) for sample in samples]
        print("sum of the good ones:", total(*normalised[:3]).result())

        failed = normalised[3]
        error = failed.exception()
        assert error is not None
        print("failed:", type(error).__name__, error)
        # the worker's traceback is the error's cause: it shows in a normal traceback
        text = "".join(traceback.format_exception(error))
        print("remote traceback:", "Traceback on worker" in text, "in normalise" in text)

        overall = total(*normalised)
        dependency = overall.exception()
        assert isinstance(dependency, plait.errors.DependencyError)
        print("dependency:", dependency.code, " -> ".join(dependency.chain))

        for future in normalised[::3]:
            print(f"logs of task {future.tid}:")
            for line in future.logs():
                print("   ", line)
        run_dir = Path(kernel.run_dir)
    # leaving the block printed the failure summary; the run directory keeps the rest
    print("task logs:", sorted(p.name for p in (run_dir / "tasks").iterdir()))


if __name__ == "__main__":
    main(sys.argv[1])
