"""Rows the flow makes itself on its per-event path, built without validation or copying.

A signal-dense backtest makes several rows per decision-and-fill leg (the signal, the decision,
two order rows, the fill). Validating them cost more than deciding and booking the leg;
`pydantic.BaseModel.model_construct` still walks every field's aliases and defaults. `own_row`
only sets the object's attributes: the caller hands it every field, in the model's field order,
each already of the type validation would make of it (enums as members, ints as `int`, floats
as `float`, money rounded to the cent with `schemas.common.cents`). The result is the object
validation gives for those values (a test compares the two on random inputs); nothing checks
the values here, so only code that guarantees them may call it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__


def own_row(model: type[M], values: dict[str, Any]) -> M:
    """A `model` row holding `values`: every field, in field order, already of its type."""
    row = model.__new__(model)
    _set(row, "__dict__", values)
    # Every field is given, as validation of a complete row would record it.
    _set(row, "__pydantic_fields_set__", set(values))
    _set(row, "__pydantic_extra__", None)
    _set(row, "__pydantic_private__", None)
    return row
