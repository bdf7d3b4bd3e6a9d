"""Warnings and notes as sentences: ``render(item)`` for a plain string or a coded record.

A stub: the fairness work replaces this module with one sentence per code. A string is
returned as it is; a record ``{"code", "severity", ...numbers}`` gives its ``text`` or,
without one, its code.
"""

from __future__ import annotations


def render(item) -> str:
    if isinstance(item, str):
        return item
    return item.get("text") or item["code"]
