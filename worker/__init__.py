"""The Celery worker side of poolbench: ``celery -A worker ...`` and ``python -m worker``.

``app`` is imported lazily (PEP 562) because ``python -m worker --pool gevent`` must
monkey-patch before Celery, kombu and redis-py are imported, and ``python -m worker``
imports this package first. The stock ``celery -A worker`` finds ``app`` all the same.
"""

from __future__ import annotations

__all__ = ["app"]


def __getattr__(name: str):
    if name == "app":
        from worker.app import app

        # Importing the submodule bound ``worker.app`` to the module: rebind it to the app.
        globals()["app"] = app
        return app
    raise AttributeError(f"module 'worker' has no attribute {name!r}")
