"""Send mock financial transactions and insurance claims to the ingestor.

    python generators/simulate_data.py                     # until Ctrl+C, like the lab guide
    python generators/simulate_data.py --count 10000 --rate 500
    DELAY_SECONDS=0.01 python generators/simulate_data.py  # the lab guide's "high rate"
    python generators/simulate_data.py --target kafka --count 100000   # straight to Kafka

Ends with a summary: sent, acknowledged, rejected and unacknowledged events per topic.
"""

from __future__ import annotations

import sys

from kafkalab.generator.cli import main

if __name__ == "__main__":
    sys.exit(main())
