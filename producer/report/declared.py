"""What a result's backend declared it is: its execution model and where it ran.

Documents since the ``model`` field carry ``model``, ``via`` and ``shares_gil`` per result
(:class:`producer.report.document.Result`); the report reads those, never a backend's name.
An older saved document (schema 2 before them) is read by what it did record: a
distributed row's ``pool``, or the local backend that the row's registry name was then.
"""

from __future__ import annotations

from collections.abc import Mapping

POOL_MODELS = {"prefork": "processes", "threads": "threads", "solo": "serial", "gevent": "greenlets"}
"""How the pools recorded by older documents ran their tasks."""
OLD_LOCAL_MODELS = {
    "sequential": "serial",
    "threads": "threads",
    "processes": "processes",
    "interpreters": "interpreters",
}
"""The local backends of older documents, by the registry name their rows were written under."""


def model_of(result: Mapping) -> str:
    """``serial``, ``threads``, ``processes``, ``interpreters`` or ``greenlets``."""
    if result.get("model"):
        return result["model"]
    if result.get("pool") in POOL_MODELS:
        return POOL_MODELS[result["pool"]]
    first = str(result.get("backend", "")).split(" ", 1)[0]
    return OLD_LOCAL_MODELS.get(first, "serial")


def via_of(result: Mapping) -> str:
    """``local`` (the producer's own children) or ``broker``."""
    if result.get("via"):
        return result["via"]
    return "local" if result.get("family", "local") == "local" else "broker"


def is_baseline(result: Mapping) -> bool:
    """Its group's baseline (older documents: the local serial row, the sequential baseline)."""
    if "baseline" in result:
        return bool(result["baseline"])
    return via_of(result) == "local" and model_of(result) == "serial"


def through_broker(result: Mapping) -> bool:
    return via_of(result) == "broker"
