"""The order engine: resting orders and how the market triggers and fills them.

Pure: a resting order is a plain record (`RestingOrder`), the rules are functions of it and a
stretch of one instrument's quotes. `first_event` finds, in numpy over the stretch, the first
quote at which the order does anything (triggers, fills, or meets its time in force);
`step` works the order at that one quote. The account stage (flows.accounts.resting) wires it:
which orders exist, the rows they emit, and what a fill does to the book.
"""

from flows.trading.orders.model import Outcome, RestingOrder
from flows.trading.orders.rules import (
    first_event,
    follow,
    side_sizes,
    stop_level,
    usable_quote,
    usable_quotes,
)
from flows.trading.orders.step import drive, step

__all__ = [
    "Outcome",
    "RestingOrder",
    "drive",
    "first_event",
    "follow",
    "side_sizes",
    "step",
    "stop_level",
    "usable_quote",
    "usable_quotes",
]
