#!/usr/bin/env bash
# Provisions one national authority's Kafka principal for production: a SCRAM-SHA-512 user
# `authority-<cc>` that may read its own topic `alerts.<CC>` and nothing else, use consumer groups
# whose names begin with `authority-<cc>`, and write its feedback to `alerts.feedback`.
#
# Usage: provision-authority.sh CC PASSWORD
#   KAFKA_BOOTSTRAP      an admin listener of the cluster (required)
#   KAFKA_ADMIN_CONFIG   client properties for that connection (TLS/SASL of the admin), optional
#   KAFKA_RUN_CLASS      how to run Kafka's tools; default kafka-run-class.sh from a Kafka
#                        distribution (the test suite passes `bash tests/kafka.sh run-class`)
#   PW_KAFKA_NAMESPACE   the deployment's prefix to topic names, as the services have it
#                        (`staging.`: the authority reads `staging.alerts.<CC>`); default none
#
# The brokers must run an authorizer (KRaft: org.apache.kafka.metadata.authorizer.StandardAuthorizer)
# with allow.everyone.if.no.acl.found=false and SCRAM-SHA-512 enabled on the authorities' listener.
set -euo pipefail

[[ $# -eq 2 ]] || { echo "usage: $0 CC PASSWORD" >&2; exit 2; }
cc="$(echo "$1" | tr '[:lower:]' '[:upper:]')"
[[ "$cc" =~ ^[A-Z]{2}$ ]] || { echo "CC: expected an ISO 3166-1 alpha-2 code, got $1" >&2; exit 2; }
password="$2"
[[ ${#password} -ge 12 ]] || { echo "PASSWORD: at least 12 characters" >&2; exit 2; }
lower="$(echo "$cc" | tr '[:upper:]' '[:lower:]')"
namespace="${PW_KAFKA_NAMESPACE:-}"
[[ "$namespace" =~ ^[A-Za-z0-9._-]*$ ]] || { echo "PW_KAFKA_NAMESPACE: only letters, digits, '.', '_' and '-'" >&2; exit 2; }
own="${namespace}alerts.$cc"
feedback="${namespace}alerts.feedback"
principal="authority-$lower"
bootstrap="${KAFKA_BOOTSTRAP:?set KAFKA_BOOTSTRAP to an admin listener}"
read -r -a run <<<"${KAFKA_RUN_CLASS:-kafka-run-class.sh}"
admin=(--bootstrap-server "$bootstrap")
if [[ -n "${KAFKA_ADMIN_CONFIG:-}" ]]; then admin+=(--command-config "$KAFKA_ADMIN_CONFIG"); fi

"${run[@]}" kafka.admin.ConfigCommand "${admin[@]}" --alter \
  --add-config "SCRAM-SHA-512=[password=$password]" --entity-type users --entity-name "$principal"
"${run[@]}" org.apache.kafka.tools.AclCommand "${admin[@]}" --add \
  --allow-principal "User:$principal" --operation Read --operation Describe --topic "$own"
"${run[@]}" org.apache.kafka.tools.AclCommand "${admin[@]}" --add \
  --allow-principal "User:$principal" --operation Read --group "$principal" --resource-pattern-type prefixed
"${run[@]}" org.apache.kafka.tools.AclCommand "${admin[@]}" --add \
  --allow-principal "User:$principal" --operation Write --operation Describe --topic "$feedback"
echo "provisioned $principal: reads $own, groups $principal*, writes $feedback"
