"""The tutorial's workflow: records as MessagePack, the function with cloudpickle."""

import plait

config = plait.Config(
    executors=[
        {
            "kind": "htex",
            "max_workers_per_node": 2,
            # tried in order for each object: msgpack for plain data, pickle for other
            # data and importable functions, cloudpickle for functions of this script
            "serializers": ["example-msgpack", "pickle", "cloudpickle"],
        }
    ]
)


@plait.python_app
def summarize(record):
    return {"name": record["name"], "total": sum(record["values"])}


if __name__ == "__main__":
    records = [{"name": f"run-{i}", "values": list(range(i))} for i in range(5)]
    with plait.load(config):
        for summary in [summarize(r).result() for r in records]:
            print(summary["name"], summary["total"])
