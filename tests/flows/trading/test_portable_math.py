"""The portable exp/log/expm1/erfc/ndtr/ndtri: accurate to a few ulp, one path for scalars and
arrays, and built only from operations every SIMD level rounds alike.

Accuracy is checked against the C library (`math`) and scipy, never with `==`; equality is
asserted only between a value and itself computed by the same function in another batch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from flows.trading import portable_math as pm
from flows.trading import portable_normal as pn


def ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """|got - want| in units of the last place of `want` (subnormals measured at the smallest
    normal's spacing, where relative precision is gone anyway)."""
    scale = np.spacing(np.maximum(np.abs(want), np.finfo(np.float64).tiny))
    return np.asarray(np.abs(got - want) / scale)


FINITE = {"allow_nan": False, "allow_infinity": False}


@settings(deadline=None, max_examples=300)
@given(st.lists(st.floats(-745.0, 709.7, **FINITE), min_size=1, max_size=50))
def test_exp_is_within_one_ulp_of_the_c_library(values: list[float]) -> None:
    x = np.array(values)
    assert ulps(pm.exp(x), np.array([math.exp(v) for v in x])).max() <= 1.0


@settings(deadline=None, max_examples=300)
@given(st.lists(st.floats(5e-324, 1.7e308, **FINITE), min_size=1, max_size=50))
def test_log_is_within_one_ulp_of_the_c_library(values: list[float]) -> None:
    x = np.array(values)
    assert ulps(pm.log(x), np.array([math.log(v) for v in x])).max() <= 1.0


@settings(deadline=None, max_examples=300)
@given(st.lists(st.floats(-80.0, 709.0, **FINITE), min_size=1, max_size=50))
def test_expm1_is_within_one_ulp_of_the_c_library(values: list[float]) -> None:
    x = np.array(values)
    assert ulps(pm.expm1(x), np.array([math.expm1(v) for v in x])).max() <= 1.0


@settings(deadline=None, max_examples=300)
@given(st.lists(st.floats(-10.0, 27.0, **FINITE), min_size=1, max_size=50))
def test_erfc_is_within_a_few_ulp_of_the_c_library(values: list[float]) -> None:
    x = np.array(values)
    assert ulps(pn.erfc(x), np.array([math.erfc(v) for v in x])).max() <= 4.0


def test_accuracy_over_dense_grids_across_every_branch() -> None:
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-745, 709, 20_000), rng.uniform(-1, 1, 20_000)])
    assert ulps(pm.exp(x), np.array([math.exp(v) for v in x])).max() <= 1.0
    assert ulps(pm.expm1(x), np.array([math.expm1(v) for v in x])).max() <= 1.0
    positive = np.exp(rng.uniform(-700, 700, 20_000))
    assert ulps(pm.log(positive), np.array([math.log(v) for v in positive])).max() <= 1.0
    # erfc's interval edges (0.84375, 1.25, 1/0.35, 6, 28) and both signs.
    z = np.concatenate([rng.uniform(-7, 28, 40_000), [0.84375, 1.25, 1 / 0.35, 6.0, -6.0]])
    assert ulps(pn.erfc(z), np.array([math.erfc(v) for v in z])).max() <= 4.0


def test_normal_cdf_and_quantile_agree_with_scipy_to_rounding() -> None:
    rng = np.random.default_rng(11)
    d = rng.uniform(-30, 9, 50_000)
    want = special.ndtr(d)
    relative = np.abs(pn.ndtr(d) - want) / want
    # erfc(-x/√2) carries the rounding of x/√2 amplified by x² in the tails, as scipy's does.
    assert relative.max() < 1e-12
    assert relative[np.abs(d) < 5].max() < 1e-14
    p = np.concatenate([rng.uniform(0, 1, 20_000), 10 ** rng.uniform(-300, -1, 20_000)])
    assert (np.abs(pn.ndtri(p) - special.ndtri(p)) / np.abs(special.ndtri(p))).max() < 1e-14


def test_special_values_follow_the_c_library() -> None:
    nan, inf = math.nan, math.inf
    np.testing.assert_array_equal(
        pm.exp([nan, inf, -inf, 710.0, -746.0, 0.0]), [nan, inf, 0, inf, 0, 1]
    )
    np.testing.assert_array_equal(pm.log([nan, inf, 0.0, -1.0, 1.0]), [nan, inf, -inf, nan, 0.0])
    np.testing.assert_array_equal(pm.expm1([nan, inf, -inf, 0.0]), [nan, inf, -1.0, 0.0])
    np.testing.assert_array_equal(pn.erfc([nan, inf, -inf, 0.0]), [nan, 0.0, 2.0, 1.0])
    np.testing.assert_array_equal(pn.ndtri([0.0, 1.0, 0.5, -1.0, 2.0]), [-inf, inf, 0.0, nan, nan])


FUNCTIONS = [pm.exp, pm.log, pm.expm1, pn.erfc, pn.ndtr, pn.ndtri]


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
@settings(deadline=None, max_examples=100)
@given(values=st.lists(st.floats(0.0, 40.0, **FINITE), min_size=1, max_size=40))
def test_a_value_is_the_same_alone_and_in_any_batch(function, values: list[float]) -> None:  # type: ignore[no-untyped-def]
    """One code path per quantity: the scalar path is the array path, and each element depends
    on its own input only (no batch-size-dependent tail loop as in SIMD kernels)."""
    x = np.array(values) * np.where(np.arange(len(values)) % 2, 1.0, -1.0)
    if function in (pm.log, pn.ndtri):
        x = np.abs(x) / (41.0 if function is pn.ndtri else 1.0)
    batch = function(x)
    alone = np.array([pm.scalar(function, float(v)) for v in x])
    np.testing.assert_array_equal(batch, alone)
    np.testing.assert_array_equal(function(x[::-1])[::-1], batch)


def test_out_argument_writes_in_place() -> None:
    x = np.linspace(-3, 3, 11)
    buffer = np.empty(11)
    assert pm.exp(x, out=buffer) is buffer
    np.testing.assert_array_equal(buffer, pm.exp(x))
    pn.ndtr(x, out=x)
    np.testing.assert_array_equal(x, pn.ndtr(np.linspace(-3, 3, 11)))
