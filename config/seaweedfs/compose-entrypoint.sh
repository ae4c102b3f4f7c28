#!/bin/sh
# Compose mode's object store: render the S3 identity file from the environment (the same
# template local mode fills in from kafkalab.settings), then run `weed mini` in the
# foreground. docker-compose.yml passes the S3 port and the buckets as arguments.
set -eu

access_key="${KAFKALAB_S3_ACCESS_KEY:?KAFKALAB_S3_ACCESS_KEY is empty (docker-compose.yml sets a default)}"
secret_key="${KAFKALAB_S3_SECRET_KEY:?KAFKALAB_S3_SECRET_KEY is empty (docker-compose.yml sets a default)}"
template="${KAFKALAB_S3_TEMPLATE:-/etc/kafkalab/s3.json.template}"

# The keys are pasted into JSON as they are: a quote or backslash would break the file.
case "$access_key$secret_key" in
  *\"* | *\\*)
    echo "kafkalab: KAFKALAB_S3_ACCESS_KEY / KAFKALAB_S3_SECRET_KEY must not contain quotes or backslashes" >&2
    exit 1
    ;;
esac

# sed replacement text treats '&', '|' (our delimiter) and '\' specially.
escape() { printf '%s' "$1" | sed -e 's/[&|\\]/\\&/g'; }

config="${TMPDIR:-/tmp}/kafkalab-s3.json"
umask 077
sed -e "s|[\$]{access_key}|$(escape "$access_key")|g" \
    -e "s|[\$]{secret_key}|$(escape "$secret_key")|g" \
    "$template" >"$config"

# Inside the container the master, volume and filer talk over loopback; only the S3
# port is published. The extra front ends stay off, as in local mode.
exec weed mini \
  -dir=/data \
  -ip=127.0.0.1 \
  -ip.bind=0.0.0.0 \
  -s3.config="$config" \
  -webdav=false \
  -admin.ui=false \
  -s3.port.iceberg=0 \
  -s3.port.lance=0 \
  -master.telemetry=false \
  "$@"
