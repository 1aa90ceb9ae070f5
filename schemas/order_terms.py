"""The new terms of a working order, for cancel-and-replace (a `replace_order` control command
carries them: schemas.config.ControlCommand; so does the body of `POST /orders/{id}/replace`)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, Field, model_validator

from schemas.common import STRICT, OrderType, Price

# The terms a replace may change, by order type: the quantity always, the prices the type has.
# A trailing stop may switch between a trail by amount and by percent.
REPLACEABLE_TERMS: dict[OrderType, tuple[str, ...]] = {
    OrderType.MARKET: ("quantity",),
    OrderType.LIMIT: ("quantity", "limit_price"),
    OrderType.STOP: ("quantity", "stop_price"),
    OrderType.STOP_LIMIT: ("quantity", "stop_price", "limit_price"),
    OrderType.TRAILING_STOP: ("quantity", "trail_amount", "trail_percent"),
}


class OrderTerms(BaseModel):
    """New terms for a working order (`replace_order`): the fields given are those that change.

    `quantity` is the order's new total, what it filled already included, as at a broker; the
    order that replaces it works the rest. Prices are per unit in the quote currency;
    `trail_percent` a fraction (0.02 is 2 %).
    """

    model_config = STRICT
    quantity: Annotated[int, Field(gt=0, le=10_000_000)] | None = Field(
        default=None, description="The new total quantity, the part already filled included."
    )
    limit_price: Price | None = Field(default=None, description="New limit price.")
    stop_price: Price | None = Field(default=None, description="New stop price.")
    trail_amount: Price | None = Field(
        default=None, description="New trail of a trailing stop, in currency per unit."
    )
    trail_percent: Annotated[float, Field(gt=0, lt=1)] | None = Field(
        default=None, description="New trail of a trailing stop, as a fraction of its reference."
    )

    @model_validator(mode="after")
    def _one_trail(self) -> Self:
        if self.trail_amount is not None and self.trail_percent is not None:
            raise ValueError("give trail_amount or trail_percent, not both")
        return self

    @property
    def changes(self) -> dict[str, float]:
        """The terms given, by name."""
        terms = {name: getattr(self, name) for name in OrderTerms.model_fields}
        return {name: value for name, value in terms.items() if value is not None}

    def problem_for(self, order_type: OrderType, filled: int) -> tuple[str, str] | None:
        """(the term at fault, why) these terms cannot replace those of a `order_type` order
        that has filled `filled` units; None when they can."""
        allowed = REPLACEABLE_TERMS[order_type]
        for name in self.changes:
            if name not in allowed:
                return name, (
                    f"a {order_type.value} order has no {name} to change "
                    f"(it can change: {', '.join(allowed)})"
                )
        if self.quantity is not None and self.quantity <= filled:
            return "quantity", (
                f"quantity {self.quantity:,} leaves nothing to work: {filled:,} filled already "
                "(cancel the order instead)"
            )
        return None
