"""A batch's task records, kept by column so that a large batch costs bytes a task, not a kilobyte.

A task record is a small dict (``index``, ``started``, ``ended``, ``cpu_s``, ``pid``, ``host``,
``summary``...). Held as 100,000 dicts, a batch costs the producer about 1.2 KB a task
(measured: 24 MB for 20,000 records of ``threads``), more than everything else a run holds.
:class:`Records` keeps each field in one column instead: a float in 8 bytes, an int in 4 (8
once one needs more: a thread id), and any other value (a host name, a workload's summary,
an error) as the 4-byte number of its entry in a table of the distinct values the column
met, which are few (one host, one summary a size).
Reading gives the dicts back, one at a time, equal to those appended; a value from a table is
shared by the records that hold it, so it is read, never changed. A batch the rounds run keeps
no records at all (:mod:`producer.measure.tally` folds each as it arrives): these hold what
``run_batch`` returns without a tally (tests, ``bench/``), and a batch's redelivered tasks.

:class:`Summaries` is a batch's verified summaries in task order, kept the same way: the
baseline's are what every other batch is checked against, for the whole run.
"""

from __future__ import annotations

import hashlib
import json
import math
from array import array
from collections.abc import Iterable, Iterator

_MISSING_INT = -(2**63)
_MISSING_SMALL = -(2**31)
_MISSING = -1
_MISSING_OF = {"d": math.nan, "i": _MISSING_SMALL, "q": _MISSING_INT, "o": _MISSING}
_TYPECODE = {"d": "d", "i": "i", "q": "q", "o": "i"}
"""Each kind's array: floats in 8 bytes, ints in 4 until one needs 8, table entries in 4."""


def key_of(value) -> tuple:
    """What makes two values one table entry: equal values of one kind."""
    if value is None or isinstance(value, (str, bool)):
        return (type(value).__name__, value)
    return ("json", json.dumps(value, sort_keys=True, default=repr))


class _Table:
    """The distinct values of a column, each once, and their numbers."""

    def __init__(self) -> None:
        self.values: list = []
        self.keys: list[tuple] = []
        self.number: dict[tuple, int] = {}

    def add(self, value) -> int:
        key = key_of(value)
        found = self.number.get(key)
        if found is None:
            found = self.number[key] = len(self.values)
            self.values.append(value)
            self.keys.append(key)
        return found


class _Column:
    """One field: floats (NaN where a record lacks it), small or large ints, or entries of a table."""

    def __init__(self, kind: str, length: int) -> None:
        self.kind = kind
        self.table = _Table() if kind == "o" else None
        self.missing = _MISSING_OF[kind]
        self.cells = array(_TYPECODE[kind], [self.missing]) * length

    def fits(self, value) -> bool:
        if self.kind == "o":
            return True
        if isinstance(value, bool):
            return False
        if self.kind == "d":  # an int among floats (a 0 for a time) is kept as the float it equals
            return (isinstance(value, float) and not math.isnan(value)) or (
                isinstance(value, int) and abs(value) < 2**53
            )
        return _kind(value) in (("i",) if self.kind == "i" else ("i", "q"))

    def put(self, value) -> None:
        self.cells.append(self.table.add(value) if self.kind == "o" else value)  # array("d") takes ints

    def pad(self) -> None:
        self.cells.append(self.missing)

    def get(self, position: int):
        """The value, or the column's own missing marker (``self`` stands for it)."""
        cell = self.cells[position]
        if self.kind == "d":
            return self if cell != cell else cell
        if cell == self.missing:
            return self
        return self.table.values[cell] if self.kind == "o" else cell

    def widened(self, value, length: int) -> _Column:
        """A column that takes ``value`` too: large ints for small ones, floats for ints and a
        float, else table entries."""
        kind, new = "o", _kind(value)
        if self.kind == "i" and new == "q":
            kind = "q"
        elif self.kind in ("i", "q") and new == "d":
            if all(cell == self.missing or abs(cell) < 2**53 for cell in self.cells):
                kind = "d"
        wide = _Column(kind, 0)
        for position in range(length):
            old = self.get(position)
            wide.pad() if old is self else wide.put(old)
        return wide


def _kind(value) -> str:
    if isinstance(value, float) and not math.isnan(value):
        return "d"
    if isinstance(value, int) and not isinstance(value, bool):
        if _MISSING_SMALL < value < 2**31:
            return "i"
        if _MISSING_INT < value < 2**63:
            return "q"
    return "o"


class Records:
    """Task records by column; appended as tasks end, read back as dicts."""

    def __init__(self, records: Iterable[dict] = ()) -> None:
        self._n = 0
        self._columns: dict[str, _Column] = {}
        for record in records:
            self.append(record)

    def append(self, record: dict) -> None:
        columns = self._columns
        for key, value in record.items():
            column = columns.get(key)
            if column is None:
                column = columns[key] = _Column(_kind(value), self._n)
            elif not column.fits(value):
                column = columns[key] = column.widened(value, self._n)
            column.put(value)
        if len(record) < len(columns):
            for key, column in columns.items():
                if key not in record:
                    column.pad()
        self._n += 1

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, position: int) -> dict:
        if not -self._n <= position < self._n:
            raise IndexError(position)
        position %= self._n
        record = {}
        for key, column in self._columns.items():
            value = column.get(position)
            if value is not column:
                record[key] = value
        return record

    def __iter__(self) -> Iterator[dict]:
        return (self[position] for position in range(self._n))

    def __eq__(self, other) -> bool:
        return list(self) == list(other) if isinstance(other, (Records, list)) else NotImplemented

    def get(self, position: int, key: str, default=None):
        """One field of one record, without building the record."""
        column = self._columns.get(key)
        if column is None:
            return default
        value = column.get(position)
        return default if value is column else value

    def drop(self, key: str) -> None:
        """Forget a field in every record (a summary, once verified)."""
        self._columns.pop(key, None)


def as_records(records: Iterable[dict]) -> Records:
    return records if isinstance(records, Records) else Records(records)


class Summaries:
    """A batch's summaries in task order (None where a task gave none), kept as table entries."""

    def __init__(self, values: Iterable = ()) -> None:
        self._table = _Table()
        self._cells = array("i")
        for value in values:
            self._cells.append(self._table.add(value))

    @classmethod
    def sized(cls, n: int) -> Summaries:
        """``n`` tasks without a summary yet (None), each given one by :meth:`put`."""
        out = cls()
        out._cells = array("i", [out._table.add(None)]) * n
        return out

    def put(self, position: int, value) -> None:
        self._cells[position] = self._table.add(value)

    def __len__(self) -> int:
        return len(self._cells)

    def __getitem__(self, position: int):
        return self._table.values[self._cells[position]]

    def __iter__(self) -> Iterator:
        return (self._table.values[cell] for cell in self._cells)

    def key(self, position: int) -> tuple:
        return self._table.keys[self._cells[position]]

    def __eq__(self, other) -> bool:
        return list(self) == list(other) if isinstance(other, (Summaries, list)) else NotImplemented

    def digest(self) -> str:
        """sha256 of ``json.dumps(list(self), sort_keys=True)``, fed in pieces, its first 16 digits."""
        digest = hashlib.sha256(b"[")
        encoded = [json.dumps(value, sort_keys=True).encode() for value in self._table.values]
        for position, cell in enumerate(self._cells):
            digest.update(encoded[cell] if position == 0 else b", " + encoded[cell])
        digest.update(b"]")
        return digest.hexdigest()[:16]
