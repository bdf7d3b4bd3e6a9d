"""What poolbench starts is a context manager: started on entering, closed on leaving, and
closed too when its start fails half-way (a Redis up, its workers not), so nothing stays."""

from __future__ import annotations


class Started:
    """Subclasses give ``start()`` and a ``close()`` that is safe on a half-started object."""

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()
