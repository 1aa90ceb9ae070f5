"""The live flow under the name Bytewax users expect: `python -m bytewax.run flows.live:flow`.

The flow itself is built in `flows.runs.live`; this module only gives it its conventional path.
"""

from flows.runs.live import flow

__all__ = ["flow"]
