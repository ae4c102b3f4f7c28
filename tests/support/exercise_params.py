"""The params the end-to-end tiers run each exercise with."""

from __future__ import annotations

# Small runs, generous waits: a wait bound costs nothing when the fact arrives, and a
# machine twice as slow (or busy) must not turn a correct outcome into a failure.
SMALL = {
    "kafka_ingest_basic": {"events": 300},
    "kafka_fanout_consumer_groups": {
        "rate": 100,
        "lag_threshold": 1000,
        "hold_seconds": 15,
        "timeout_seconds": 600,
    },
    # Small replay batches: the table gets several commits, one of which a fault can drop.
    "kafka_dr_replay_drill": {
        "rate": 100,
        "min_lag_growth": 200,
        "replay_batch_records": 3000,
        "timeout_seconds": 600,
    },
    "kafka_repartition_scaling": {"timeout_seconds": 600},
}
