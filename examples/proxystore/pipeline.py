"""The ProxyStore tutorial's workflow (docs/tutorials/proxystore.rst).

Intra-site: a chain of tasks on one machine passes a large numpy array along; with
ProxyStore first in the executor's serializers, the array goes through a file store and
only a small proxy goes through the executor. Inter-site: two executors (two "sites")
share a store directory on a shared file system; a task on one site produces an array,
a task on the other consumes it by proxy.

Usage: python pipeline.py STORE_DIR [MB]
"""

import sys

import numpy

import plait


def site(label, store_dir):
    """An htex executor whose large objects go to the store in ``store_dir``."""
    proxystore = {
        "kind": "proxystore",
        "threshold": 1_000_000,  # bytes: larger objects travel as proxies
        "connector": "file",
        "store_dir": store_dir,  # on a file system every site can read
        "evict": True,  # delete each object once it has been used
    }
    return {
        "kind": "htex",
        "label": label,
        "max_workers_per_node": 1,
        "serializers": [proxystore, "pickle", "cloudpickle"],
    }


def make(mb):
    return numpy.ones(mb * 1024 * 1024 // 8)


def scale(array, factor):
    return array * factor  # using the proxy fetches the array here, on the worker


def total(array):
    return float(array.sum())


def on(label, function):
    """``function`` as an app that runs on the executor ``label``."""
    return plait.python_app(function, executors=[label])


def main(store_dir, mb):
    config = plait.Config(executors=[site("site-a", store_dir), site("site-b", store_dir)])
    with plait.load(config) as dfk:
        # intra-site: every task on site-a
        array = on("site-a", make)(mb)
        for _ in range(3):
            array = on("site-a", scale)(array, 2)
        print("intra-site total", on("site-a", total)(array).result())
        moved = dfk.executors["site-a"].interchange_stats()["task_bytes"]
        print("site-a interchange MB", round(moved / 1e6, 3), "of", 4 * mb, "MB of arrays")
        # inter-site: made on site-a, used on site-b, through the shared store
        made = on("site-a", make)(mb)
        print("inter-site total", on("site-b", total)(on("site-b", scale)(made, 3)).result())


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50)
