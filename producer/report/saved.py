"""Reading a saved run (``compare --json FILE``) back, with one clear error when it can't be.

The checks cover what the exporters read, so a file that passes renders without a
traceback; a file from another schema version is refused rather than misread. Version 2
(findings stored as sentences) and 3 (findings as data) are read; the exporters render
either through :func:`producer.report.messages.render`.
"""

from __future__ import annotations

import json
import os

from producer.errors import UsageError
from producer.report import load_document
from producer.report.document import READABLE_VERSIONS, SCHEMA_VERSION, Document

TOP = {"tool": dict, "machine": dict, "workload": dict, "settings": dict, "results": list}
WORKLOAD = ("name", "spec", "size", "kind")
SETTINGS = ("tasks", "concurrency", "repeat", "warmup", "timeout")
RESULT = {
    "backend": str,
    "family": str,
    "concurrency": int,
    "settings": dict,
    "ok": bool,
    "problems": list,
    "warnings": list,
    "caveats": list,
    "rounds": list,
}
STATS = ("wall_s", "cpu_util", "speedup", "efficiency")


def _malformed(path: str, what: str) -> UsageError:
    return UsageError(f"'{path}' is not a poolbench result document: {what}")


def load(path: str) -> Document:
    """The document saved in ``path``; UsageError (exit 2) if it is missing, unreadable or malformed."""
    if not os.path.isfile(path):
        raise UsageError(f"cannot read '{path}': no such file")
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except UnicodeDecodeError:
        raise _malformed(path, "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _malformed(path, f"not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except OSError as exc:
        raise UsageError(f"cannot read '{path}': {exc.strerror or exc}") from None
    if load_document.is_load(doc):  # issue 18: `load`'s document, a kind of its own
        load_document.check(doc, path)
        return doc
    check(doc, path)
    return doc


def check(doc, path: str) -> None:
    if not isinstance(doc, dict):
        raise _malformed(path, f"a JSON {type(doc).__name__}, not an object")
    version = doc.get("schema_version")
    if version is None:
        raise _malformed(path, "no schema_version")
    if version not in READABLE_VERSIONS:
        readable = " and ".join(map(str, READABLE_VERSIONS))
        raise UsageError(
            f"'{path}' has schema_version {version}, and this poolbench reads {readable} "
            f"(it writes {SCHEMA_VERSION}); re-run it with this version"
        )
    for key, kind in TOP.items():
        if not isinstance(doc.get(key), kind):
            raise _malformed(path, f"'{key}' is missing or not a JSON {kind.__name__}")
    for section, keys in (("workload", WORKLOAD), ("settings", SETTINGS)):
        missing = [k for k in keys if k not in doc[section]]
        if missing:
            raise _malformed(path, f"'{section}' has no {', '.join(missing)}")
    if not doc["results"]:
        raise _malformed(path, "no results")
    for i, result in enumerate(doc["results"]):
        if not isinstance(result, dict):
            raise _malformed(path, f"results[{i}] is not an object")
        for key, kind in RESULT.items():
            if not isinstance(result.get(key), kind):
                raise _malformed(path, f"results[{i}].{key} is missing or not a JSON {kind.__name__}")
        for key in STATS:
            if key not in result or not isinstance(result[key], (dict, type(None))):
                raise _malformed(path, f"results[{i}].{key} is missing")
