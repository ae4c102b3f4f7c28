# The one kafkalab image of compose mode: Airflow (api-server, scheduler, dag-processor,
# triggerer), the FastAPI ingestor, the generator and the Spark driver all run from it,
# with the same pinned requirements.txt as local mode.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Java runs pyspark's driver JVM; Maven fetches the Kafka/Delta/S3A connector jars once
# (the `spark-jars` compose job), exactly as `./lab up` does in local mode.
# Debian's JRE post-install script fails in slim images without the man1 directory.
RUN set -eux; \
    mkdir -p /usr/share/man/man1; \
    apt-get update; \
    apt-get install -y --no-install-recommends openjdk-17-jre-headless maven; \
    rm -rf /var/lib/apt/lists/*; \
    ln -s "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")" /opt/java

ENV JAVA_HOME=/opt/java

# Airflow's metadata DB is Postgres here: psycopg2 for the sync engine, asyncpg for the
# async one Airflow 3 derives from the same URL. Neither is needed in local mode (SQLite).
COPY requirements.txt /opt/kafkalab/requirements.txt
RUN pip install -r /opt/kafkalab/requirements.txt \
        psycopg2-binary==2.9.13 \
        asyncpg==0.32.0

# A fixed uid, so named volumes created from this image's directories (Airflow logs,
# the lab's state and secrets) belong to the user every kafkalab service runs as.
RUN set -eux; \
    useradd --uid 50000 --gid 0 --create-home --shell /bin/bash kafkalab; \
    mkdir -p /opt/airflow/logs /var/lib/kafkalab /run/secrets/kafkalab; \
    chown -R kafkalab:0 /opt/airflow /var/lib/kafkalab /run/secrets/kafkalab

COPY . /opt/kafkalab

RUN pip install --no-deps -e /opt/kafkalab

ENV AIRFLOW_HOME=/opt/airflow \
    KAFKALAB_HOME=/var/lib/kafkalab \
    SPARK_CONF_DIR=/var/lib/kafkalab/conf/spark

WORKDIR /opt/kafkalab
USER kafkalab
