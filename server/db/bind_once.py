"""Values bound once for the many rows of an ``executemany`` that repeat them.

SQLAlchemy runs a column type's bind processor for every row of an ``executemany``
(a ``GUID`` becomes bytes, a ``DateTimeUTC`` becomes text on SQLite), even when
every row carries the same value: the event rows of a batch share their time and,
session by session, their session id.  :func:`bound` processes such a value once,
exactly as the column's type would for the connection's dialect, and a
:func:`prebound` parameter hands the result to the driver as it is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import BindParameter, Column, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine, UserDefinedType

__all__ = ["bound", "prebound"]


class _Processed(UserDefinedType[Any]):
    """A value already processed for the driver: no bind processor, no cast.

    (An untyped parameter would not do: in an insert's ``VALUES`` it takes its
    column's type, and with it the processing.)"""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        """Only parameters have this type: a column declared with it is refused."""
        raise TypeError("a processed parameter's type is not a column type")


_PROCESSED = _Processed()


def prebound(name: str) -> BindParameter[Any]:
    """A parameter whose value is passed to the driver unprocessed: give it what
    :func:`bound` returned for the column it fills."""
    return bindparam(name, type_=_PROCESSED)


def bound(column: Column[Any], dialect: Dialect, value: object) -> object:
    """``value`` as ``column``'s type binds it for ``dialect`` (what the driver gets)."""
    process = _processor(column.type, dialect)
    return value if process is None else process(value)


@functools.lru_cache(maxsize=64)
def _processor(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    return column_type.dialect_impl(dialect).bind_processor(dialect)
