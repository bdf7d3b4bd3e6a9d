"""Process-wide settings that keep backends comparable, recorded with every result.

glibc gives each new thread its own malloc arena; measured here, the pool created
first then ran allocation-heavy work (``squares``) about 15% slower than the one
created second, whichever strategy it was, which showed up as a false threads
"speedup" of 1.2x or a slowdown of 0.9x. One shared arena removes that bias.
Pure-Python allocation happens under the GIL anyway, so the shared arena's lock
is not what threads are waiting for.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_ARENA_MAX = -8


def share_malloc_arena() -> dict:
    """Ask glibc for one malloc arena; must run before the first thread starts."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        applied = bool(libc.mallopt(_M_ARENA_MAX, 1))
    except (OSError, AttributeError):  # not glibc: nothing to align
        applied = False
    return {"malloc_arena_max": 1 if applied else None}
