"""Install what the local stack needs and cache it under the lab's state directory.

Jars come from Maven Central through `mvn dependency:copy-dependencies`; a stamp file
holding the pom's digest makes a second install a no-op, and lets the lab run offline.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from kafkalab.settings import REPO_ROOT, LabSettings

KAFKA_POM = REPO_ROOT / "config" / "maven" / "kafka" / "pom.xml"
SPARK_POM = REPO_ROOT / "config" / "maven" / "spark" / "pom.xml"
STAMP = ".installed-from"

_VERSIONED_JAR = re.compile(r"^(?P<artifact>.+?)-\d[\w.\-]*\.jar$")


class InstallError(RuntimeError):
    pass


def artifact_name(jar_file: str) -> str:
    """``kafka-clients-3.9.2.jar`` -> ``kafka-clients``."""
    match = _VERSIONED_JAR.match(jar_file)
    return match.group("artifact") if match else jar_file.removesuffix(".jar")


def jars_already_provided(jar_files: list[str], provided: list[str]) -> list[str]:
    """The jars whose artifact is already on Spark's own classpath (any version)."""
    provided_artifacts = {artifact_name(name) for name in provided}
    return sorted(name for name in jar_files if artifact_name(name) in provided_artifacts)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_installed(dest: Path, pom: Path) -> bool:
    stamp = dest / STAMP
    return stamp.exists() and stamp.read_text().strip() == file_digest(pom)


def require_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise InstallError(
            "Java is not installed or not on PATH: Kafka and Spark need Java 17 or newer "
            "(Debian: apt-get install openjdk-17-jdk-headless)."
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)', out)
    if match and int(match.group(1)) < 17:
        raise InstallError(
            f"Java 17 or newer is needed; `java -version` says: {out.splitlines()[0]}"
        )
    return java


def copy_maven_dependencies(pom: Path, dest: Path, settings: LabSettings) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise InstallError(
            "Maven (`mvn`) is needed once to fetch the jars listed in "
            f"{pom.relative_to(REPO_ROOT)} (Debian: apt-get install maven)."
        )
    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        mvn,
        "--batch-mode",
        "--quiet",
        "--file",
        str(pom),
        f"-Dmaven.repo.local={settings.paths.cache / 'm2'}",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}",
        "-DincludeScope=runtime",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise InstallError(f"Maven could not fetch the jars of {pom}:\n{tail}")
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)


def ensure_jars(
    pom: Path, dest: Path, settings: LabSettings, provided: Callable[[], list[str]] | None = None
) -> bool:
    """Fetch the jars a pom names into dest; False when they were already there.

    ``provided`` lists jars the runtime ships itself: two versions of one artifact on a
    classpath is a coin toss at class-load time, and the runtime's own must win.
    """
    if is_installed(dest, pom):
        return False
    require_java()
    copy_maven_dependencies(pom, dest, settings)
    if provided is not None:
        for name in jars_already_provided([p.name for p in dest.glob("*.jar")], provided()):
            (dest / name).unlink()
    (dest / STAMP).write_text(file_digest(pom))
    return True


def ensure_kafka_jars(settings: LabSettings) -> bool:
    """The broker and tool jars."""
    return ensure_jars(KAFKA_POM, settings.paths.kafka_jars, settings)


def pyspark_jars_dir() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def ensure_spark_jars(settings: LabSettings) -> bool:
    """The Kafka/Delta/S3A connector jars, minus what pyspark ships (hadoop-client, ...)."""
    return ensure_jars(
        SPARK_POM,
        settings.paths.spark_jars,
        settings,
        provided=lambda: [p.name for p in pyspark_jars_dir().glob("*.jar")],
    )
