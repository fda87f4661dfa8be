#!/usr/bin/env bash
# Runs Avro's own Java implementation on this project's schemas and messages
# (tests/avro/Interop.java): the reference an outside reader of our topics is checked against.
# org.apache.avro:avro and its dependencies come from Maven Central through `mvn` (cached in
# ~/.m2) and run on this machine's Java; nothing else is downloaded.
#
# Usage: tests/avro.sh fingerprint SCHEMA...            the CRC-64-AVRO fingerprint of each
#        tests/avro.sh decode SCHEMA MESSAGE [SCHEMA MESSAGE]...
#                                                       each single-object message read with
#                                                       BinaryMessageDecoder, printed as JSON
set -euo pipefail
cd "$(dirname "$0")/.."

AVRO_VERSION="${PW_AVRO_JAVA_VERSION:-1.12.2}"
DIR="${PW_AVRO_JAVA_DIR:-${TMPDIR:-/tmp}/precursor-watch-avro-java}"

log() { echo "avro.sh: $*" >&2; }

command -v java >/dev/null || { log "java is required"; exit 1; }
# shellcheck source=tests/maven.sh
source tests/maven.sh
mkdir -p "$DIR"
cp="$(maven_classpath "$DIR/classpath-$AVRO_VERSION.txt" "org.apache.avro:avro:$AVRO_VERSION")"
exec java -cp "$cp" tests/avro/Interop.java "$@"
