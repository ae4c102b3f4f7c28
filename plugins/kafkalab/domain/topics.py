"""The lab's topics as declared in ``config/topics.yaml`` (kafka.admin creates them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kafkalab.settings import REPO_ROOT

TOPICS_FILE = REPO_ROOT / "config" / "topics.yaml"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    # None: the cluster's default.replication.factor (1 on one broker, 3 on three).
    replication_factor: int | None = None
    configs: dict[str, str] = field(default_factory=dict)


class TopicConfigError(ValueError):
    pass


def load_topic_specs(path: Path = TOPICS_FILE) -> list[TopicSpec]:
    document = yaml.safe_load(path.read_text()) or {}
    specs = []
    for entry in document.get("topics", []):
        try:
            spec = TopicSpec(
                name=entry["name"],
                partitions=int(entry["partitions"]),
                replication_factor=(
                    int(entry["replication_factor"]) if "replication_factor" in entry else None
                ),
                configs={k: str(v) for k, v in (entry.get("configs") or {}).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TopicConfigError(f"{path}: topic entry {entry!r} is invalid: {exc}") from exc
        if spec.partitions < 1:
            raise TopicConfigError(f"{path}: topic {spec.name} needs at least 1 partition")
        specs.append(spec)
    return specs
