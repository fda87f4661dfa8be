#!/usr/bin/env bash
# Starts, stops or checks a single-node Apache Kafka (KRaft) on 127.0.0.1 for the test suite.
#
# The broker's jars come from Maven Central through `mvn` (cached in ~/.m2) and run on this
# machine's Java; nothing else is downloaded. Services connect in plaintext on $PORT (as the
# super user); authorities connect with SASL/SCRAM-SHA-512 on $SASL_PORT, where ACLs apply.
# Usage: tests/kafka.sh start|stop|status, or tests/kafka.sh run-class CLASS ARGS... to run one
# of Kafka's tools (kafka.admin.ConfigCommand, org.apache.kafka.tools.AclCommand) on its jars.
set -euo pipefail

KAFKA_VERSION="${PW_KAFKA_VERSION:-4.1.1}"
PORT="${PW_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${PW_KAFKA_CONTROLLER_PORT:-9093}"
SASL_PORT="${PW_KAFKA_SASL_PORT:-9094}"
DIR="${PW_KAFKA_DIR:-${TMPDIR:-/tmp}/precursor-watch-kafka-$PORT}"

log() { echo "kafka.sh: $*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# shellcheck source=tests/maven.sh
source "$(dirname "${BASH_SOURCE[0]}")/maven.sh"

classpath() {
  mkdir -p "$DIR"
  maven_classpath "$DIR/classpath-$KAFKA_VERSION-tools.txt" \
    "org.apache.kafka:kafka_2.13:$KAFKA_VERSION" \
    "org.apache.kafka:kafka-tools:$KAFKA_VERSION" \
    org.apache.logging.log4j:log4j-slf4j-impl:2.24.3
}

start() {
  if port_open "$PORT"; then
    log "a broker already listens on 127.0.0.1:$PORT"
    return 0
  fi
  command -v java >/dev/null || { log "java is required to run the broker"; exit 1; }
  mkdir -p "$DIR"
  local cp; cp="$(classpath)"
  local props="$DIR/server.properties"
  cat >"$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
# The services and the controller connect in plaintext, as the super user; authorities by SCRAM.
super.users=User:ANONYMOUS
allow.everyone.if.no.acl.found=false
log.dirs=$DIR/data
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  cat >"$DIR/log4j2.properties" <<'LOG'
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = warn
logger.apache.name = org.apache.kafka
logger.apache.level = warn
LOG
  local java_opts=(-Xms256m -Xmx768m -Dlog4j2.configurationFile="$DIR/log4j2.properties")
  if [[ ! -f "$DIR/data/meta.properties" ]]; then
    local cluster_id
    cluster_id="$(java "${java_opts[@]}" -cp "$cp" kafka.tools.StorageTool random-uuid)"
    java "${java_opts[@]}" -cp "$cp" kafka.tools.StorageTool format -t "$cluster_id" -c "$props" >"$DIR/format.log" 2>&1 \
      || { log "formatting the storage failed:"; cat "$DIR/format.log" >&2; exit 1; }
  fi
  log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$PORT (logs: $DIR/broker.log)"
  nohup java "${java_opts[@]}" -cp "$cp" kafka.Kafka "$props" >"$DIR/broker.log" 2>&1 &
  echo $! >"$DIR/broker.pid"
  for _ in $(seq 1 120); do
    if port_open "$PORT"; then
      log "broker is up"
      return 0
    fi
    if ! kill -0 "$(cat "$DIR/broker.pid")" 2>/dev/null; then
      log "the broker exited; last lines of its log:"; tail -n 40 "$DIR/broker.log" >&2; exit 1
    fi
    sleep 0.5
  done
  log "the broker did not open 127.0.0.1:$PORT within 60 s"; tail -n 40 "$DIR/broker.log" >&2; exit 1
}

stop() {
  local pid_file="$DIR/broker.pid"
  [[ -f "$pid_file" ]] || { log "no broker started from $DIR"; return 0; }
  local pid; pid="$(cat "$pid_file")"
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
  log "broker stopped"
}

run_class() {
  local cp; cp="$(classpath)"
  java -Xmx256m -Dlog4j2.configurationFile="$DIR/log4j2.properties" -cp "$cp" "$@"
}

case "${1:-}" in
  start) start ;;
  run-class) shift; run_class "$@" ;;
  stop) stop ;;
  status) if port_open "$PORT"; then echo "up on 127.0.0.1:$PORT"; else echo "down"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status|run-class CLASS ARGS..." >&2; exit 2 ;;
esac
