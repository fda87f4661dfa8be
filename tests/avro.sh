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
cp_file="$DIR/classpath-$AVRO_VERSION.txt"
if [[ ! -s "$cp_file" ]]; then
  command -v mvn >/dev/null || { log "mvn is required to fetch the Avro jars"; exit 1; }
  mkdir -p "$DIR/pom"
  cat >"$DIR/pom/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>precursor-watch</groupId><artifactId>test-avro</artifactId><version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.apache.avro</groupId><artifactId>avro</artifactId>
      <version>$AVRO_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  log "resolving org.apache.avro:avro:$AVRO_VERSION with mvn"
  mvn -B -q -f "$DIR/pom/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp_file.tmp" >&2
  mv "$cp_file.tmp" "$cp_file"
fi
exec java -cp "$(cat "$cp_file")" tests/avro/Interop.java "$@"
