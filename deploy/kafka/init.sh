#!/bin/sh
# One-shot kafka-init: topics, one SCRAM-SHA-512 user per service and the ACLs that bound each.
# Runs in the broker's network namespace (compose `network_mode: service:kafka`) and talks to the
# loopback-only LOCAL listener; nothing outside the broker's container can reach that listener.
# Idempotent: topics are created if missing, users' credentials and ACLs are (re)set every run.
set -eu
BIN=/opt/kafka/bin
SERVER="--bootstrap-server localhost:9094"

for topic in access-events auth-events register-events outbox-heartbeat outbox-resend; do
  $BIN/kafka-topics.sh $SERVER --create --if-not-exists --topic "$topic" \
    --partitions 3 --replication-factor 1
done

for user in identity records register audit; do
  password=$(cat "/run/secrets/kafka_${user}_password")
  $BIN/kafka-configs.sh $SERVER --alter --entity-type users --entity-name "$user" \
    --add-config "SCRAM-SHA-512=[iterations=8192,password=${password}]"
done

allow() {  # allow <user> <operation> <resource option> <name>
  $BIN/kafka-acls.sh $SERVER --add --allow-principal "User:$1" --operation "$2" "$3" "$4"
}

# Each relay writes its own topic and heartbeats, and reads resend requests (no consumer group).
relay() {  # relay <user> <topic>
  allow "$1" Write --topic "$2"
  allow "$1" Write --topic outbox-heartbeat
  allow "$1" Read --topic outbox-resend
}
relay identity auth-events
relay records access-events
relay register register-events

# The audit consumer reads every event topic and the heartbeats in its group, and writes only
# resend requests (services/audit/consumer.py publishes them on outbox-resend).
for topic in access-events auth-events register-events outbox-heartbeat; do
  allow audit Read --topic "$topic"
done
allow audit Write --topic outbox-resend
allow audit Read --group audit

$BIN/kafka-acls.sh $SERVER --list
