"""What a strikeflow process tells Prometheus about its pipeline.

The metrics live in a registry of their own (`THIS_PROCESS`), which `CLUSTER` stands for in
prometheus_client's default registry, so they are served wherever that registry is: by the API
at `/metrics` (`strikeflow serve`, the flow in the same process), and by Bytewax's own endpoint
when the flow runs alone (`BYTEWAX_DATAFLOW_API_ENABLED=true`, port 3030), beside Bytewax's
metrics. A process alone serves its own counts. When it runs the flow as a cluster
(`--processes N`), the other processes' counts are added to them (sinks/cluster_metrics.py), so
the first process serves the cluster's; processes started by hand (`bytewax.run -i -a`) each
serve their own, and Prometheus adds them up.

Gauges are combined across a cluster's processes by their `multiprocess_mode`, all 'livesum'.
A partition's consumer lag and a channel's watermark delay are set by the one process that owns
it (the others have no sample of it), so the sum is the owner's value; the sink queue is counted
up and down by each process for its own sink partitions, so the sum is the cluster's queue. And
a process that has finished no longer counts ('live'): its gauges go with its run.

Event-time delays (`*_delay_seconds`) compare the wall clock with event times: live, where a
tick's event time is when the feed stamped it, they are the pipeline's lag; on a replay of old
data they only say how old the data is.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from sinks.cluster_metrics import ClusterMetrics

# Seconds from a few milliseconds (the flow's own work) to a minute (a stalled partition).
DELAY_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

# What this process counted; CLUSTER (below) serves it, with the other processes' counts.
THIS_PROCESS = CollectorRegistry()

TICKS_IN = Counter(
    "strikeflow_ticks_in",
    "Usable ticks and option quotes read by the flow, by input channel (topic:partition, or file).",
    ["channel"],
    registry=THIS_PROCESS,
)
DEAD_LETTERS = Counter(
    "strikeflow_dead_letters",
    "Messages sent to the dead-letter topic instead of being used, by the topic they came from.",
    ["source"],
    registry=THIS_PROCESS,
)
CONSUMER_LAG = Gauge(
    "strikeflow_consumer_lag_messages",
    "Messages of a partition not yet read by the flow: the broker's high watermark minus the "
    "next offset to read (as last seen by the consumer).",
    ["topic", "partition"],
    registry=THIS_PROCESS,
    multiprocess_mode="livesum",
)
WATERMARK_DELAY = Gauge(
    "strikeflow_watermark_delay_seconds",
    "Wall clock minus a channel's event-time watermark after its latest batch: how far behind "
    "real time the merge of the channels can be.",
    ["channel"],
    registry=THIS_PROCESS,
    multiprocess_mode="livesum",
)
DECISIONS = Counter(
    "strikeflow_decisions",
    "Orchestrator decisions made, by account shard and verdict.",
    ["shard", "verdict"],
    registry=THIS_PROCESS,
)
FILLS = Counter(
    "strikeflow_fills", "Paper fills booked, by account shard.", ["shard"], registry=THIS_PROCESS
)
DECISION_DELAY = Histogram(
    "strikeflow_decision_delay_seconds",
    "Wall clock when a decision is made minus the event time of the tick that caused it: "
    "tick-to-decision latency when the feed stamps ticks as it sends them.",
    buckets=DELAY_BUCKETS,
    registry=THIS_PROCESS,
)
FLOW_LATENCY = Histogram(
    "strikeflow_flow_latency_seconds",
    "The flow's own part of tick-to-decision latency: from the Kafka source's poll that "
    "returned the tick to the produce() of its decision (processing time, monotonic clock).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=THIS_PROCESS,
)
ROWS_WRITTEN = Counter(
    "strikeflow_rows_written",
    "Rows inserted into ClickHouse, by table.",
    ["table"],
    registry=THIS_PROCESS,
)
INSERT_RETRIES = Counter(
    "strikeflow_insert_retries",
    "ClickHouse inserts retried after a transient failure, by table.",
    ["table"],
    registry=THIS_PROCESS,
)
INSERT_SECONDS = Histogram(
    "strikeflow_insert_seconds",
    "Time of one successful ClickHouse insert, retries included, by table.",
    ["table"],
    buckets=DELAY_BUCKETS,
    registry=THIS_PROCESS,
)
SINK_QUEUE = Gauge(
    "strikeflow_sink_queue_batches",
    "Batches handed to a ClickHouse sink partition and not yet written, by table.",
    ["table"],
    registry=THIS_PROCESS,
    multiprocess_mode="livesum",
)
API_REQUESTS = Histogram(
    "strikeflow_api_request_seconds",
    "Time to answer an API request, by method, route template and status code.",
    ["method", "route", "status"],
    buckets=REQUEST_BUCKETS,
    registry=THIS_PROCESS,
)

# The metrics above, with the other processes of this process's cluster runs.
CLUSTER = ClusterMetrics(THIS_PROCESS)
REGISTRY.register(CLUSTER)


def seconds_behind(event_ms: int, now: int) -> float:
    """How far `event_ms` lies behind the wall clock `now` (both epoch ms), never negative."""
    return max(now - event_ms, 0) / 1000
