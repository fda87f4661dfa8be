#!/usr/bin/env bash
# Runs the whole test suite against a real PostgreSQL 15 and a real Apache Kafka (KRaft), starting
# whichever is not running. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "run.sh: $*" >&2; }

# PostgreSQL on 127.0.0.1:5432.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  log "starting PostgreSQL 15"
  pg_ctlcluster --skip-systemctl-redirect 15 main start
  for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi
if [[ -z "${PW_TEST_DATABASE_URL:-}" ]]; then
  if [[ "$(id -u)" == 0 ]]; then
    # The tests log in with a password over TCP; give the local superuser a known one.
    runuser -u postgres -- psql -q -c "ALTER USER postgres PASSWORD 'postgres'" >/dev/null
    # Drop the databases earlier runs left behind.
    runuser -u postgres -- psql -qAt -c "SELECT datname FROM pg_database WHERE datname LIKE 'pw_test_%'" \
      | while read -r db; do runuser -u postgres -- dropdb --if-exists "$db"; done
  fi
  export PW_TEST_DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5432/postgres"
fi

# Apache Kafka on 127.0.0.1:9092, stopped again at the end if this script started it.
export PW_TEST_KAFKA_BROKERS="${PW_TEST_KAFKA_BROKERS:-127.0.0.1:9092}"
if ! bash tests/kafka.sh status >/dev/null 2>&1; then
  bash tests/kafka.sh start
  trap 'bash tests/kafka.sh stop' EXIT
fi

# The system tests start the service binaries as separate processes.
cargo build --workspace --bins
cargo test --workspace "$@"
