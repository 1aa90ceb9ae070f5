"""What the cluster's fork server imports (flows/runs/cluster.py), and how: in prometheus_client's
multiprocess mode, so that every process it forks can write its metrics where the cluster's
first process reads them (sinks/cluster_metrics.py).

prometheus_client chooses where values live once, as it is imported, from the environment
variable PROMETHEUS_MULTIPROC_DIR, and a metric without labels makes its value, and so its file,
as it is defined. So the variable points at a scratch directory while the flow's modules are
imported, and the directory is removed right after: the fork server never counts anything, and
each process it forks points the variable at its run's directory before it does
(`sinks.cluster_metrics.write_here`); prometheus_client reopens its files there when it sees
the new pid.

A multiprocessing fork server runs no code of ours, it only imports the modules it is told to
preload: hence a module whose import does the work. Imported anywhere else it would set the
variable in that process, so only the fork server's preload list names it.
"""

from __future__ import annotations

import os
import shutil
import tempfile

# Spelled out: sinks.cluster_metrics, which names it too, imports prometheus_client.
_scratch = tempfile.mkdtemp(prefix="strikeflow-fork-server-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _scratch
try:
    import flows.runs.cluster
    import flows.runs.live  # noqa: F401  (preloaded: the processes start with it imported)
finally:
    shutil.rmtree(_scratch, ignore_errors=True)
