from __future__ import annotations

import pytest

from kafkalab.domain.topics import TopicConfigError, load_topic_specs


def test_the_lab_topics_have_three_partitions_and_a_retention() -> None:
    specs = {spec.name: spec for spec in load_topic_specs()}
    assert set(specs) == {"raw_financial_transactions", "raw_insurance_claims"}
    for spec in specs.values():
        assert spec.partitions == 3
        assert int(spec.configs["retention.ms"]) > 0


def test_an_entry_without_partitions_is_named_in_the_error(tmp_path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text("topics:\n  - name: broken_topic\n")
    with pytest.raises(TopicConfigError, match="broken_topic"):
        load_topic_specs(path)


def test_zero_partitions_is_refused(tmp_path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text("topics:\n  - name: t\n    partitions: 0\n")
    with pytest.raises(TopicConfigError, match="at least 1 partition"):
        load_topic_specs(path)
