"""`strikeflow schemas export DIR` writes one valid JSON Schema per topic."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from api.cli import app
from schemas.settings import Topics
from schemas.trading import Signal

TS = 1_764_081_000_000


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("schemas")
    result = CliRunner().invoke(app, ["schemas", "export", str(directory)])
    assert result.exit_code == 0, result.output
    return directory


def _load(directory: Path, topic: str) -> dict[str, object]:
    schema: dict[str, object] = json.loads((directory / f"{topic}.schema.json").read_text())
    return schema


def test_export_writes_one_schema_per_topic(exported: Path) -> None:
    topics = Topics()
    names = {path.name for path in exported.iterdir()}
    assert names == {f"{getattr(topics, field)}.schema.json" for field in Topics.model_fields}


@pytest.mark.parametrize("field", list(Topics.model_fields))
def test_every_exported_schema_is_valid_draft_2020_12(exported: Path, field: str) -> None:
    schema = _load(exported, getattr(Topics(), field))
    jsonschema.Draft202012Validator.check_schema(schema)


def test_tick_schema_accepts_ticks_and_heartbeats_and_refuses_crossed_types(exported: Path) -> None:
    validator = jsonschema.Draft202012Validator(_load(exported, "market.ticks"))
    tick = {"symbol": "AAPL", "ts": TS, "bid": 1.0, "ask": 1.1, "last": 1.05, "volume": 1}
    assert validator.is_valid(tick)
    assert validator.is_valid({"kind": "heartbeat", "ts": TS})
    assert not validator.is_valid({**tick, "bid": -1})
    assert not validator.is_valid({**tick, "ts": "2025-11-25T14:30:00Z"})
    assert not validator.is_valid({**tick, "symbol": "lower"})


def test_a_model_serialised_for_its_topic_validates_against_its_schema(exported: Path) -> None:
    signal = Signal(
        signal_id="live:a:sig:0:1",
        run_id="live",
        account_id="a",
        ts=TS,
        symbol="AAPL",
        strategy="ma_cross(10,30)",
        direction="long",  # type: ignore[arg-type]
        strength=0.25,
        price=101.5,
        reason="cross",
        indicators={"fast": 101.2, "slow": 101.0},
        config_version=1,
    )
    validator = jsonschema.Draft202012Validator(_load(exported, "strikeflow.signals"))
    validator.validate(json.loads(signal.model_dump_json()))
