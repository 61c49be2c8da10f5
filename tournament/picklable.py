"""Quick pickling for the frozen, slotted dataclasses that cross a worker's pipes with every match.

Python pickles a slotted dataclass through `dataclasses._dataclass_getstate`, which calls `fields()` on
every object pickled and `object.__setattr__` per field when unpickling: about two thirds of the cost of
pickling a match's job and its reply, paid by the coordinator once per match. Rebuilding the object from
its field values through its constructor is the same data at a third of the cost.
"""

from __future__ import annotations

import dataclasses
import operator
from typing import Any, TypeVar

T = TypeVar("T")


def by_fields(cls: type[T]) -> type[T]:
    """Class decorator (above ``@dataclass``): pickle as a call of the class with its field values.

    Only for dataclasses whose every field is an ``__init__`` parameter, in field order (checked here).
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if len(fields) < 2 or not all(field.init for field in fields):
        raise TypeError(f"{cls.__name__}: by_fields needs two or more fields, all __init__ parameters")
    values = operator.attrgetter(*(field.name for field in fields))

    def reduce(self: T) -> tuple[type[T], tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = reduce  # type: ignore[assignment,method-assign]
    return cls
