"""The flow's own latency: from the moment the Kafka source has a tick to its decision's produce().

End to end, a decision's latency also holds the broker's delivery (producer linger, fetch
waits), which the flow does not control. So the source stamps each poll batch with
`time.monotonic_ns()` when the poll returns (`RawBatch.arrived_ns`, carried by `Decoded` and
`MarketUpdate`); the account shard remembers, per channel, the last offset and arrival of each
recent batch; a decision names its tick's partition and offset in its id, so the shard finds
that tick's arrival and hands it on (`Stamped`) to the Kafka output, which measures the time
to its own produce() (sinks.kafka.output, the `strikeflow_flow_latency_seconds` histogram).

Determinism: the stamps are processing time and never enter a row or a message; they ride
beside the outputs, so a replay writes the same rows whatever the clock said. The time a tick
spends waiting in the ordered merge for the slowest channel's watermark is part of what is
measured: that wait is the flow's.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field, fields

from flows.accounts.state import Outputs
from flows.stages.market import MarketUpdate

RECENT_BATCHES = 4096  # per channel: seconds of live batches; older ticks go unmeasured


@dataclass(slots=True)
class Arrivals:
    """(last offset, first offset, arrival) of each channel's recent batches, in offset order."""

    by_channel: dict[str, deque[tuple[int, int, int]]] = field(default_factory=dict)

    def note(self, update: MarketUpdate) -> None:
        ticks = update.ticks
        if update.arrived_ns and len(ticks):
            recent = self.by_channel.setdefault(ticks.channel, deque(maxlen=RECENT_BATCHES))
            recent.append((int(ticks.offsets[-1]), int(ticks.offsets[0]), update.arrived_ns))

    def of(self, channel: str, offset: int) -> int | None:
        """When the batch holding `offset` of `channel` arrived, if it is still remembered."""
        recent = self.by_channel.get(channel)
        if not recent:
            return None
        at = bisect_left(recent, (offset, -1, -1))
        if at == len(recent) or recent[at][1] > offset:  # not (or no longer) remembered
            return None
        return recent[at][2]


@dataclass(slots=True)
class Stamped(Outputs):
    """Outputs whose decisions carry their tick's arrival (decision id -> monotonic ns)."""

    arrived: dict[str, int] = field(default_factory=dict)


def stamp(out: Outputs, arrivals: Arrivals, ticks_topic: str) -> Outputs:
    """`out`, as `Stamped` if some decision's tick arrival is known."""
    if not out.decisions:
        return out
    found: dict[str, int] = {}
    for decision in out.decisions:
        # Ids read '...:dec:<partition>:<offset>:<leg>' (flows.accounts); a hashed long id or
        # a decision not caused by a tick (a control command) is simply not measured.
        parts = decision.decision_id.rsplit(":", 3)
        if len(parts) != 4 or not (parts[1].isdigit() and parts[2].isdigit()):
            continue
        arrived = arrivals.of(f"{ticks_topic}:{parts[1]}", int(parts[2]))
        if arrived is not None:
            found[decision.decision_id] = arrived
    if not found:
        return out
    return Stamped(**{item.name: getattr(out, item.name) for item in fields(out)}, arrived=found)
