"""Short labels shared by the text report, the charts and convoy: the Python and its GIL."""

from __future__ import annotations


def gil_label(info: dict) -> str:
    if info.get("gil_enabled") is None:
        return "GIL unknown"
    if info.get("free_threaded_build"):
        by = info.get("gil_enabled_by")
        on = f"re-enabled by {', '.join(by)}" if by else "re-enabled"
        return "free-threaded, GIL " + (on if info["gil_enabled"] else "disabled")
    return "GIL enabled" if info["gil_enabled"] else "GIL disabled"


def python_label(info: dict) -> str:
    name = info.get("python_implementation") or "Python"
    return f"{name} {info.get('python_version') or '?'}, {gil_label(info)}"
