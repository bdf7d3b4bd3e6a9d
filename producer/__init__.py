"""poolbench: threads, processes, or which Celery pool? Measured for your function.

``from producer import compare`` is the Python API (see :mod:`producer.api`); it is
imported lazily, so ``python -m producer`` can first keep the user's folder from
shadowing poolbench's packages.
"""

from producer.version import __version__

__all__ = ["__version__", "compare"]


def __getattr__(name: str):
    if name == "compare":
        from producer.api import compare

        return compare
    raise AttributeError(f"module 'producer' has no attribute {name!r}")
