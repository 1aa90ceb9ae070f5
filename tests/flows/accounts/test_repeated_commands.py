"""A command sent twice is taken once: its repeat changes nothing, at any batch cut."""

from __future__ import annotations

import json

import pytest

from schemas.config import ControlAction, ControlCommand
from tests.flows.accounts.test_account_flow import CONFIGS, FRIDAY, SYMBOLS
from tests.pipeline import run, session

ACCOUNT = CONFIGS[0].account_id


def command(command_id: str, action: ControlAction, ts: int) -> ControlCommand:
    return ControlCommand(command_id=command_id, account_id=ACCOUNT, ts=ts, action=action)


KILL = command("kill-1", ControlAction.KILL_SWITCH, 1_795_000_000_000)
REARM = command("start-1", ControlAction.START, 1_795_000_000_001)
REFUSED = command("resume-1", ControlAction.RESUME, 1_795_000_000_002)  # running: refused


@pytest.mark.parametrize("batch_size", [7, 50])
def test_a_repeated_command_id_is_ignored(batch_size: int) -> None:
    ticks = session(SYMBOLS, FRIDAY)
    once = [(10, KILL), (20, REARM), (25, REFUSED)]
    # the kill switch and the refused resume come again, later, as a retrying client sends them
    again = [*once, (30, KILL.model_copy(update={"ts": KILL.ts + 5})), (35, REFUSED)]
    single = run(ticks, CONFIGS[:1], batch_size=batch_size, seed=3, commands=once)
    repeated = run(ticks, CONFIGS[:1], batch_size=batch_size, seed=3, commands=again)
    assert repeated == single
    states = sorted((json.loads(row) for row in single["states"]), key=lambda s: s["version"])
    statuses = [s["status"] for s in states]
    halts = [i for i in range(1, len(statuses)) if statuses[i - 1 : i + 1] == ["running", "halted"]]
    assert len(halts) == 1
    assert statuses[-1] == "running"
    alerts = [json.loads(a) for a in single["alerts"]]
    assert [a["kind"] for a in alerts].count("kill_switch") == 1
    [rejected] = [a for a in alerts if a["kind"] == "command_rejected"]
    assert "resume-1" in rejected["message"]
