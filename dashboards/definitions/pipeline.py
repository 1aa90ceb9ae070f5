"""Pipeline: the flow's and the API's own health from Prometheus (sinks/metrics.py).

Every other dashboard reads what the flow wrote to ClickHouse; this one reads how the flow is
doing: what it reads and how far behind it is, how fast decisions follow ticks, what the
ClickHouse sink writes and waits for, and how the API answers. Rates are over one minute.
"""

from __future__ import annotations

from dashboards.model import Dashboard, MetricPanel, Row, Series


def rate(metric: str, by: str = "", window: str = "1m") -> str:
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (rate({metric}[{window}]))"


def quantile(q: float, histogram: str, by: str = "") -> str:
    labels = ", ".join(part for part in ("le", by) if part)
    return f"histogram_quantile({q}, sum by ({labels}) (rate({histogram}_bucket[1m])))"


def headline() -> tuple[MetricPanel, ...]:
    return (
        MetricPanel(
            "Ticks in",
            "stat",
            (Series(rate("strikeflow_ticks_in_total")),),
            unit="ops",
            width=6,
            height=4,
        ),
        MetricPanel(
            "Tick to decision, p99",
            "stat",
            (Series(quantile(0.99, "strikeflow_decision_delay_seconds")),),
            unit="s",
            width=6,
            height=4,
            description="Wall clock at the decision minus the event time of its tick.",
        ),
        MetricPanel(
            "Consumer lag",
            "stat",
            (Series("sum (strikeflow_consumer_lag_messages)"),),
            unit="short",
            width=6,
            height=4,
            description="Messages in the input partitions not yet read by the flow.",
        ),
        MetricPanel(
            "Dead letters in the last hour",
            "stat",
            (Series("sum (increase(strikeflow_dead_letters_total[1h]))"),),
            unit="short",
            width=6,
            height=4,
            expect_series=False,
        ),
    )


def input_panels() -> tuple[MetricPanel, ...]:
    return (
        MetricPanel(
            "Ticks in per second, by channel",
            "timeseries",
            (Series(rate("strikeflow_ticks_in_total", "channel"), "{{channel}}"),),
            unit="ops",
        ),
        MetricPanel(
            "Consumer lag, by partition",
            "timeseries",
            (
                Series(
                    "max by (topic, partition) (strikeflow_consumer_lag_messages)",
                    "{{topic}}[{{partition}}]",
                ),
            ),
            unit="short",
        ),
        MetricPanel(
            "Watermark delay, by channel",
            "timeseries",
            (Series("max by (channel) (strikeflow_watermark_delay_seconds)", "{{channel}}"),),
            unit="s",
            description="How far behind the wall clock each channel's event time is: the "
            "slowest channel holds back the merge of all of them.",
        ),
        MetricPanel(
            "Dead letters per second, by source topic",
            "timeseries",
            (Series(rate("strikeflow_dead_letters_total", "source"), "{{source}}"),),
            unit="ops",
            expect_series=False,
        ),
    )


def decision_panels() -> tuple[MetricPanel, ...]:
    delay = "strikeflow_decision_delay_seconds"
    return (
        MetricPanel(
            "Tick to decision",
            "timeseries",
            (
                Series(quantile(0.5, delay), "p50"),
                Series(quantile(0.99, delay), "p99"),
            ),
            unit="s",
        ),
        MetricPanel(
            "Decisions and fills per second",
            "timeseries",
            (
                Series(rate("strikeflow_decisions_total", "verdict"), "{{verdict}}"),
                Series(rate("strikeflow_fills_total"), "fills"),
            ),
            unit="ops",
        ),
    )


def sink_panels() -> tuple[MetricPanel, ...]:
    return (
        MetricPanel(
            "Rows written per second, by table",
            "timeseries",
            (Series(rate("strikeflow_rows_written_total", "table"), "{{table}}"),),
            unit="ops",
        ),
        MetricPanel(
            "Insert time p99, by table",
            "timeseries",
            (Series(quantile(0.99, "strikeflow_insert_seconds", "table"), "{{table}}"),),
            unit="s",
        ),
        MetricPanel(
            "Batches waiting for ClickHouse, by table",
            "timeseries",
            (Series("max by (table) (strikeflow_sink_queue_batches)", "{{table}}"),),
            unit="short",
        ),
        MetricPanel(
            "Insert retries per second, by table",
            "timeseries",
            (Series(rate("strikeflow_insert_retries_total", "table", "5m"), "{{table}}"),),
            unit="ops",
            expect_series=False,
        ),
    )


def api_panels() -> tuple[MetricPanel, ...]:
    return (
        MetricPanel(
            "API answer time p99, by route",
            "timeseries",
            (Series(quantile(0.99, "strikeflow_api_request_seconds", "route"), "{{route}}"),),
            unit="s",
        ),
        MetricPanel(
            "API requests per second, by status",
            "timeseries",
            (Series(rate("strikeflow_api_request_seconds_count", "status"), "{{status}}"),),
            unit="reqps",
        ),
    )


def pipeline() -> Dashboard:
    return Dashboard(
        uid="strikeflow-pipeline",
        title="strikeflow · Pipeline",
        description="The flow's and the API's own metrics, from Prometheus.",
        variables=(),
        items=(
            *headline(),
            Row("Input"),
            *input_panels(),
            Row("Decisions"),
            *decision_panels(),
            Row("ClickHouse sink"),
            *sink_panels(),
            Row("API"),
            *api_panels(),
        ),
        time_from="now-1h",
        refresh="10s",
    )
