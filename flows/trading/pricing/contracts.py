"""Option inputs as the vectorised pricers take them: broadcast once, then worked in blocks.

Every pricer here runs in cache-sized blocks of `BLOCK` contracts with preallocated scratch
buffers: numpy evaluates one operation at a time, and on arrays bigger than the CPU cache each
of those passes would go to main memory.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

BLOCK = 8192
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
EPS = float(np.finfo(np.float64).eps)

Operand = float | FloatArray


class Contracts(NamedTuple):
    """Option inputs, each a Python float (shared by all) or a flat float64 array."""

    spot: Operand
    strike: Operand
    years: Operand
    rate: Operand
    vol: Operand
    dividend: Operand

    def block(self, start: int, stop: int) -> Contracts:
        return Contracts(*(x[start:stop] if isinstance(x, np.ndarray) else x for x in self))

    def take(self, index: NDArray[np.intp]) -> Contracts:
        return Contracts(*(x[index] if isinstance(x, np.ndarray) else x for x in self))


def broadcast_contracts(
    is_call: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    years: ArrayLike,
    rate: ArrayLike,
    vol: ArrayLike,
    dividend: ArrayLike,
) -> tuple[tuple[int, ...], Contracts]:
    """Broadcast shape (with `is_call`'s) and the inputs as floats or flat arrays of that size.

    Scalars stay scalars so that a chain priced at one spot does not pay for a broadcast copy.
    """
    arrays = [np.asarray(x, dtype=np.float64) for x in (spot, strike, years, rate, vol, dividend)]
    shape = np.broadcast_shapes(np.shape(is_call), *(array.shape for array in arrays))
    operands: list[Operand] = [
        float(array)
        if array.ndim == 0
        else np.ascontiguousarray(np.broadcast_to(array, shape)).reshape(-1)
        for array in arrays
    ]
    return shape, Contracts(*operands)


def take(operand: Operand, index: NDArray[np.intp]) -> Operand:
    """The operand at `index`: a shared float stays the float."""
    return operand[index] if isinstance(operand, np.ndarray) else operand


def call_flags(is_call: ArrayLike, shape: tuple[int, ...]) -> bool | NDArray[np.bool_]:
    """`is_call` as one bool (shared by all) or a flat bool array of the broadcast shape."""
    flags = np.asarray(is_call, dtype=bool)
    if flags.ndim == 0:
        return bool(flags)
    return np.ascontiguousarray(np.broadcast_to(flags, shape)).reshape(-1)


def put_call_sign(
    flags: bool | NDArray[np.bool_], start: int, stop: int, row: FloatArray
) -> Operand:
    """+1.0 for calls and -1.0 for puts: every BSM formula is the call's with w·d in place of d.

    Converted a block at a time (into `row`), where it costs two cheap passes over cached data.
    """
    if isinstance(flags, bool):
        return 1.0 if flags else -1.0
    np.multiply(flags[start:stop], 2.0, out=row)
    np.subtract(row, 1.0, out=row)
    return row


def has_dividend(dividend: Operand) -> bool:
    """Whether any contract of a block carries a dividend yield (else its terms are skipped)."""
    return isinstance(dividend, np.ndarray) or dividend != 0.0


def is_put_or_mixed(sign: Operand) -> bool:
    """Whether a block's sign is not the calls' +1 throughout (else signing is skipped)."""
    return not (isinstance(sign, float) and sign == 1.0)
