"""The trading state machine: every control command from every status."""

from __future__ import annotations

import itertools
import re

import pytest

import flows.trading.orchestrator
from flows.trading.orchestrator import APPROVED, Transition, apply_command, decide
from schemas.common import TradingStatus
from schemas.config import ControlAction
from tests.flows.trading.orchestrator.scenarios import A, S, no_limits, scenario

REFUSED = None  # the command does not apply: not accepted, status unchanged
TRANSITIONS: dict[TradingStatus, dict[ControlAction, TradingStatus | None]] = {
    S.STOPPED: {
        A.START: S.RUNNING,
        A.STOP: S.STOPPED,
        A.PAUSE: REFUSED,
        A.RESUME: REFUSED,
        A.REDUCE_ONLY: REFUSED,
        A.KILL_SWITCH: S.HALTED,
        A.CONFIG_UPDATE: S.STOPPED,
        A.CANCEL_ORDER: S.STOPPED,
        A.REPLACE_ORDER: S.STOPPED,
    },
    S.RUNNING: {
        A.START: REFUSED,
        A.STOP: S.STOPPED,
        A.PAUSE: S.PAUSED,
        A.RESUME: REFUSED,
        A.REDUCE_ONLY: S.REDUCE_ONLY,
        A.KILL_SWITCH: S.HALTED,
        A.CONFIG_UPDATE: S.RUNNING,
        A.CANCEL_ORDER: S.RUNNING,
        A.REPLACE_ORDER: S.RUNNING,
    },
    S.PAUSED: {
        A.START: S.RUNNING,
        A.STOP: S.STOPPED,
        A.PAUSE: REFUSED,
        A.RESUME: S.RUNNING,
        A.REDUCE_ONLY: S.REDUCE_ONLY,
        A.KILL_SWITCH: S.HALTED,
        A.CONFIG_UPDATE: S.PAUSED,
        A.CANCEL_ORDER: S.PAUSED,
        A.REPLACE_ORDER: S.PAUSED,
    },
    S.REDUCE_ONLY: {
        A.START: REFUSED,
        A.STOP: S.STOPPED,
        A.PAUSE: S.PAUSED,
        A.RESUME: S.RUNNING,
        A.REDUCE_ONLY: REFUSED,
        A.KILL_SWITCH: S.HALTED,
        A.CONFIG_UPDATE: S.REDUCE_ONLY,
        A.CANCEL_ORDER: S.REDUCE_ONLY,
        A.REPLACE_ORDER: S.REDUCE_ONLY,
    },
    S.HALTED: {
        A.START: S.RUNNING,
        A.STOP: S.STOPPED,
        A.PAUSE: REFUSED,
        A.RESUME: REFUSED,
        A.REDUCE_ONLY: S.REDUCE_ONLY,
        A.KILL_SWITCH: S.HALTED,
        A.CONFIG_UPDATE: S.HALTED,
        A.CANCEL_ORDER: S.HALTED,
        A.REPLACE_ORDER: S.HALTED,
    },
}


def test_transition_table_covers_every_status_and_command() -> None:
    assert set(TRANSITIONS) == set(TradingStatus)
    assert all(set(row) == set(ControlAction) for row in TRANSITIONS.values())


@pytest.mark.parametrize(
    ("status", "action"), list(itertools.product(TradingStatus, ControlAction))
)
def test_apply_command_follows_the_transition_table(
    status: TradingStatus, action: ControlAction
) -> None:
    expected = TRANSITIONS[status][action]
    transition = apply_command(status, action)
    if expected is None:
        assert (transition.status, transition.accepted) == (status, False)
        assert f"{action.value} does not apply while {status.value}" in transition.reason
    else:
        assert (transition.status, transition.accepted) == (expected, True)
        assert action.value in transition.reason


def test_module_docstring_documents_the_same_transition_table() -> None:
    doc = flows.trading.orchestrator.__doc__ or ""
    header = re.search(r"^ *start +stop +pause.*$", doc, re.MULTILINE)
    assert header is not None
    actions = [ControlAction(name) for name in header.group().split()]
    rows = doc[header.end() :].strip().splitlines()[: len(TradingStatus)]
    documented = {
        S(cells[0]): {
            action: None if cell == "-" else S(cell)
            for action, cell in zip(actions, cells[1:], strict=True)
        }
        for cells in (row.split() for row in rows)
    }
    keeping = re.search(r"keep the status apply from every status: ([a-z_ ]+)\.", doc)
    assert keeping is not None
    for action in map(ControlAction, keeping.group(1).split()):
        for status, row in documented.items():
            row[action] = status
    assert documented == TRANSITIONS


@pytest.mark.parametrize("status", list(TradingStatus))
def test_kill_switch_halts_from_every_state(status: TradingStatus) -> None:
    assert apply_command(status, A.KILL_SWITCH) == Transition(
        status=S.HALTED, accepted=True, reason=f"kill_switch: {status.value} -> halted"
    )


@pytest.mark.parametrize("status", list(TradingStatus))
def test_stop_is_accepted_from_every_state(status: TradingStatus) -> None:
    assert apply_command(status, A.STOP).status == S.STOPPED


def test_resume_while_running_is_not_accepted_and_says_why() -> None:
    transition = apply_command(S.RUNNING, A.RESUME)
    assert transition == Transition(
        status=S.RUNNING,
        accepted=False,
        reason="resume does not apply while running; it applies from paused, reduce_only",
    )


def test_start_rearms_a_halted_account_explicitly() -> None:
    transition = apply_command(S.HALTED, A.START)
    assert (transition.status, transition.accepted) == (S.RUNNING, True)
    assert "re-armed" in transition.reason


@pytest.mark.parametrize("status", list(TradingStatus))
def test_config_update_keeps_the_status(status: TradingStatus) -> None:
    assert apply_command(status, A.CONFIG_UPDATE) == Transition(
        status=status, accepted=True, reason=f"config_update: status stays {status.value}"
    )


def test_kill_switch_blocks_even_closing_orders_until_the_operator_restarts() -> None:
    halted = apply_command(S.RUNNING, A.KILL_SWITCH).status
    for opens in (True, False):
        assert decide(*scenario(status=halted, opens=opens), no_limits()).rule == "trading_state"
    rearmed = apply_command(halted, A.START).status
    assert decide(*scenario(status=rearmed), no_limits()) == APPROVED
