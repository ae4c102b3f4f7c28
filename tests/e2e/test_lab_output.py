"""What `./lab` prints on stdout can be piped: parsed as JSON, grepped line by line."""

from __future__ import annotations

import json
import re

from kafkalab.lab.stack.services import services
from tests.support.lab import lab


def test_airflow_json_output_parses_with_nothing_ahead_of_it(settings) -> None:
    # `./lab airflow dags list -o json | python -m json.tool`
    result = lab("airflow", "dags", "list", "-o", "json", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "graphviz" not in result.stdout
    dag_ids = {dag["dag_id"] for dag in json.loads(result.stdout)}
    assert "kafka_dr_replay_drill" in dag_ids


def test_status_keeps_whole_lines_when_piped(settings) -> None:
    result = lab("status")
    out = result.stdout
    # rich cuts what does not fit with an ellipsis, and wraps plain lines.
    assert "…" not in out, out
    for service in services(settings):
        row = next((line for line in out.splitlines() if f" {service.name} " in line), None)
        assert row is not None, f"no whole row for {service.name}:\n{out}"
    heartbeats = re.findall(r"last heartbeat (\S+) ", out)
    assert heartbeats and all(re.fullmatch(r"[\d\-:T.+]{25,}", h) for h in heartbeats), out
    assert (
        'Shell: eval "$(./lab env)" puts airflow, spark-submit and the settings on your PATH.'
        in out.splitlines()
    ), out
