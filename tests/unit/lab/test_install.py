from __future__ import annotations

import pytest

from kafkalab.lab.stack.install import artifact_name, jars_already_provided


@pytest.mark.parametrize(
    ("jar", "artifact"),
    [
        ("kafka-clients-3.9.2.jar", "kafka-clients"),
        ("delta-spark_4.2_2.13-4.4.0.jar", "delta-spark_4.2_2.13"),
        ("netty-codec-http2-4.1.126.Final.jar", "netty-codec-http2"),
        ("scala-library-2.13.17.jar", "scala-library"),
        ("javassist-3.30.2-GA.jar", "javassist"),
        ("no-version.jar", "no-version"),
    ],
)
def test_artifact_name_strips_the_version(jar: str, artifact: str) -> None:
    assert artifact_name(jar) == artifact


def test_jars_spark_ships_itself_are_dropped_whatever_their_version() -> None:
    fetched = ["scala-library-2.13.17.jar", "kafka-clients-3.9.2.jar", "hadoop-aws-3.5.0.jar"]
    provided = ["scala-library-2.13.18.jar", "spark-core_2.13-4.2.0.jar"]
    assert jars_already_provided(fetched, provided) == ["scala-library-2.13.17.jar"]
