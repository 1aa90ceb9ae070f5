"""Which model travels on which topic, and the JSON Schemas that topic consumers validate with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Discriminator, Tag, TypeAdapter

from schemas.config import ControlCommand
from schemas.market import Heartbeat, OptionQuote, Tick
from schemas.settings import Topics
from schemas.trading import Alert, DeadLetter, Decision, Fill, OrderEvent, Signal


def _tick_kind(value: Any) -> str:
    kind = value.get("kind", "tick") if isinstance(value, dict) else getattr(value, "kind", "tick")
    return str(kind)


# `kind` may be left out of a tick: producers of plain quotes need not know about heartbeats.
TickMessage = Annotated[
    Annotated[Tick, Tag("tick")] | Annotated[Heartbeat, Tag("heartbeat")],
    Discriminator(_tick_kind),
]


def _option_kind(value: Any) -> str:
    return "heartbeat" if _tick_kind(value) == "heartbeat" else "quote"


# Option quotes share the ticks' heartbeats, so the flow's merge can move past a quiet partition.
OptionMessage = Annotated[
    Annotated[OptionQuote, Tag("quote")] | Annotated[Heartbeat, Tag("heartbeat")],
    Discriminator(_option_kind),
]


def topic_models(topics: Topics) -> dict[str, Any]:
    """Topic name -> the model (or union of models, by `kind`) of its values."""
    return {
        topics.ticks: TickMessage,
        topics.options: OptionMessage,
        topics.control: ControlCommand,
        topics.signals: Signal,
        topics.decisions: Decision,
        topics.fills: Fill,
        topics.orders: OrderEvent,
        topics.alerts: Alert,
        topics.deadletter: DeadLetter,
    }


def json_schema(model: Any, topic: str) -> dict[str, Any]:
    schema: dict[str, Any]
    if isinstance(model, type) and issubclass(model, BaseModel):
        schema = model.model_json_schema(mode="serialization")
    else:
        schema = TypeAdapter(model).json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"urn:strikeflow:topic:{topic}"
    schema.setdefault("title", topic)
    return schema


def export_json_schemas(directory: Path, topics: Topics) -> list[Path]:
    """Write `<topic>.schema.json` for every topic; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for topic, model in topic_models(topics).items():
        path = directory / f"{topic}.schema.json"
        path.write_text(json.dumps(json_schema(model, topic), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
