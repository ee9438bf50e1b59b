#!/usr/bin/env bash
# A second, secured local Kafka broker (KRaft, single node) as a production cluster is run:
# SASL/SCRAM-SHA-512 over TLS for clients, one SCRAM user per service with the ACLs of
# k8s/base/kafka/users.yaml, the standard KRaft authorizer denying whatever no ACL allows.
# It runs beside the plain broker of infra.sh (its own ports and run dir) and reuses that
# script's Kafka jars (installed into the cache by `infra.sh install` when missing).
#
#   deploy/local/kafka-secure.sh up       make a CA and certificates, format storage with the SCRAM
#                                         users, start the broker, wait, apply the ACLs of k8s/
#   deploy/local/kafka-secure.sh down     stop it and remove the run dir (data, keys, passwords)
#   deploy/local/kafka-secure.sh status   exit 0 when it runs and its ACLs are applied
#   deploy/local/kafka-secure.sh env [USER]   export lines for a client over SASL_SSL (with USER:
#                                         that user's name and password, e.g. minwon-intake)
#   deploy/local/kafka-secure.sh mtls USER    export lines for a client over mutual TLS as USER
#   deploy/local/kafka-secure.sh logs     where the logs are and their last lines
#
# Listeners, all on 127.0.0.1:
#   SASL_SSL  MINWON_KAFKA_SECURE_PORT (default 29193)  clients: SCRAM-SHA-512 over TLS
#   CONTROLLER                          port + 1 (29194)  TLS, client certificate required (the
#                                                         broker's own, principal kafka-broker)
#   MTLS      (SSL)                     port + 2 (29195)  client certificate required; the user is
#                                                         the certificate's CN
# Users: admin (super user; creates topics and ACLs) and minwon-<service> for each KafkaUser of
# k8s/base/kafka/users.yaml, with random passwords in $RUN_DIR/credentials ("user password").
#
# Environment (all optional):
#   MINWON_CACHE               cache with the Kafka jars (default: $HOME/.cache/minwon)
#   MINWON_KAFKA_SECURE_DIR    run dir (default: /tmp/minwon-kafka-secure)
#   MINWON_KAFKA_SECURE_PORT   SASL_SSL port (default: 29193; controller +1, mTLS +2)
#   MINWON_KAFKA_USERS         the KafkaUser manifests (default: k8s/base/kafka/users.yaml)
#   MINWON_INFRA_TIMEOUT       seconds to wait for the broker (default: 120)
#
# Needs: Java >= 11, openssl, python3 (standard library only).
set -euo pipefail

KAFKA_VERSION=3.9.1
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE_DIR="${MINWON_CACHE:-$HOME/.cache/minwon}"
RUN_DIR="${MINWON_KAFKA_SECURE_DIR:-/tmp/minwon-kafka-secure}"
PORT="${MINWON_KAFKA_SECURE_PORT:-29193}"
CONTROLLER_PORT=$((PORT + 1))
MTLS_PORT=$((PORT + 2))
USERS_FILE="${MINWON_KAFKA_USERS:-$ROOT/k8s/base/kafka/users.yaml}"
TIMEOUT="${MINWON_INFRA_TIMEOUT:-120}"
JVM_OPTS="-Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
HOST=127.0.0.1
KAFKA_LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
PID_FILE="$RUN_DIR/kafka.pid"
TLS="$RUN_DIR/tls"
CREDENTIALS="$RUN_DIR/credentials"
ACLS_DONE="$RUN_DIR/acls.applied"

log() { printf '[kafka-secure] %s\n' "$*" >&2; }
die() { printf '[kafka-secure] ERROR: %s\n' "$*" >&2; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required ($2)"; }

live_pid() {
    local pid cmdline
    [[ -f "$PID_FILE" ]] || return 1
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *kafka.Kafka*"$RUN_DIR"* ]] || return 1
    echo "$pid"
}

port_busy() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null; }

java_cmd() {  # java_cmd MAIN ARGS... -> the command in JAVA_CMD
    local opts
    read -r -a opts <<<"$JVM_OPTS"
    JAVA_CMD=(java "${opts[@]}" -Djava.awt.headless=true
        -Dlog4j.configuration="file:$RUN_DIR/log4j.properties"
        -Dkafka.logs.dir="$RUN_DIR/logs" -cp "$KAFKA_LIBS/*" "$@")
}

secret() { python3 -c 'import secrets; print(secrets.token_hex(16))'; }

# The users of the KafkaUser manifests and their ACLs, one line each:
#   user NAME
#   acl NAME TYPE PATTERN RESOURCE OPERATION[,OPERATION...]
# (a small reader for the shape of users.yaml; standard library only, like probe.py)
read_users() {
    python3 - "$USERS_FILE" <<'PY'
import re, sys

docs = re.split(r"^---\s*$", open(sys.argv[1], encoding="utf-8").read(), flags=re.M)
for doc in docs:
    if not re.search(r"^kind:\s*KafkaUser\s*$", doc, re.M):
        continue
    user = re.search(r"^metadata:\s*\n(?:\s+.*\n)*?\s+name:\s*(\S+)", doc, re.M).group(1)
    print("user", user)
    for block in re.split(r"^\s*- resource:\s*$", doc, flags=re.M)[1:]:
        field = lambda key, default=None: (re.search(rf"^\s*{key}:\s*(\S+)\s*$", block, re.M) or [None, default])[1]
        ops = re.search(r"^\s*operations:\s*\[([^\]]*)\]", block, re.M).group(1)
        ops = ",".join(o.strip() for o in ops.split(",") if o.strip())
        kind = field("type")
        name = field("name").strip("\"'")
        pattern = field("patternType", "literal")
        host = (field("host", "*") or "*").strip("\"'")
        if host != "*":
            sys.exit(f"{user}: ACLs limited to a host are not supported here")
        print("acl", user, kind, pattern, name, ops)
PY
}

make_tls() {
    [[ -f "$TLS/ca.crt" && -f "$TLS/broker.p12" ]] && return 0
    need openssl "to make the local CA and certificates"
    mkdir -p "$TLS"
    chmod 700 "$TLS"
    log "making a local CA and the broker and client certificates in $TLS"
    local ext="$TLS/ext.cnf" store_password
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
        -subj "/CN=minwon local Kafka CA" -keyout "$TLS/ca.key" -out "$TLS/ca.crt" 2>/dev/null
    cert() {  # cert NAME CN SAN|-  -> NAME.key, NAME.crt signed by the CA
        local name="$1" cn="$2" san="$3"
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" \
            -keyout "$TLS/$name.key" -out "$TLS/$name.csr" 2>/dev/null
        {
            echo "basicConstraints=CA:FALSE"
            echo "extendedKeyUsage=serverAuth,clientAuth"
            [[ "$san" != - ]] && echo "subjectAltName=$san"
        } >"$ext"
        openssl x509 -req -in "$TLS/$name.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial \
            -days 30 -extfile "$ext" -out "$TLS/$name.crt" 2>/dev/null
        rm -f "$TLS/$name.csr"
    }
    cert broker kafka-broker "IP:$HOST,DNS:localhost"
    store_password="$(secret)"
    openssl pkcs12 -export -name broker -inkey "$TLS/broker.key" -in "$TLS/broker.crt" \
        -certfile "$TLS/ca.crt" -passout "pass:$store_password" -out "$TLS/broker.p12"
    echo "$store_password" >"$TLS/broker.p12.password"
    local kind user rest
    while read -r kind user rest; do
        [[ "$kind" == user ]] && cert "$user" "$user" -
    done < <(read_users)
    cert admin admin -
    rm -f "$ext" "$TLS/ca.srl"
    chmod 600 "$TLS"/*.key "$TLS/broker.p12" "$TLS/broker.p12.password"
}

make_credentials() {
    [[ -s "$CREDENTIALS" ]] && return 0
    local kind user rest
    (
        umask 077
        echo "admin $(secret)" >"$CREDENTIALS.tmp"
        while read -r kind user rest; do
            [[ "$kind" == user ]] && echo "$user $(secret)" >>"$CREDENTIALS.tmp"
        done < <(read_users)
        mv "$CREDENTIALS.tmp" "$CREDENTIALS"
    )
}

password_of() { awk -v u="$1" '$1 == u {print $2}' "$CREDENTIALS"; }

write_config() {
    local admin_password store_password
    admin_password="$(password_of admin)"
    store_password="$(cat "$TLS/broker.p12.password")"
    mkdir -p "$RUN_DIR/data" "$RUN_DIR/logs"
    (
        umask 077
        cat >"$RUN_DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=SASL_SSL://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT,MTLS://$HOST:$MTLS_PORT
advertised.listeners=SASL_SSL://$HOST:$PORT,MTLS://$HOST:$MTLS_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=CONTROLLER:SSL,SASL_SSL:SASL_SSL,MTLS:SSL
log.dirs=$RUN_DIR/data

# TLS everywhere: the broker's certificate (SAN 127.0.0.1, localhost) from the local CA
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS/broker.p12
ssl.keystore.password=$store_password
ssl.truststore.type=PEM
ssl.truststore.location=$TLS/ca.crt
ssl.endpoint.identification.algorithm=https
# certificate users: the CN is the principal (CN=minwon-survey -> User:minwon-survey)
ssl.principal.mapping.rules=RULE:^CN=([^,]+)$/\$1/,DEFAULT
listener.name.controller.ssl.client.auth=required
listener.name.mtls.ssl.client.auth=required

# SASL/SCRAM-SHA-512 (users created at format time); the broker talks to itself as admin
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";

# what no ACL allows is refused
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:kafka-broker

auto.create.topics.enable=false
delete.topic.enable=true
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
log.retention.ms=-1
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
EOF
    )
    cat >"$RUN_DIR/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$RUN_DIR/logs/server.log
log4j.appender.file.Append=true
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.authorizer.logger=INFO, file
log4j.additivity.kafka.authorizer.logger=false
EOF
    (
        umask 077
        cat >"$RUN_DIR/admin.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";
ssl.truststore.type=PEM
ssl.truststore.location=$TLS/ca.crt
EOF
    )
}

format_storage() {
    [[ -f "$RUN_DIR/data/meta.properties" ]] && return 0
    local args=() user password cluster_id
    while read -r user password; do
        args+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$password]")
    done <"$CREDENTIALS"
    cluster_id="$(python3 -c 'import base64,uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')"
    log "formatting KRaft storage with $(( ${#args[@]} / 2 )) SCRAM-SHA-512 users"
    java_cmd kafka.tools.StorageTool format -t "$cluster_id" -c "$RUN_DIR/server.properties" "${args[@]}"
    "${JAVA_CMD[@]}" >>"$RUN_DIR/logs/format.log" 2>&1 \
        || { tail -n 20 "$RUN_DIR/logs/format.log" >&2; die "formatting the storage failed"; }
}

start_broker() {
    java_cmd kafka.Kafka "$RUN_DIR/server.properties"
    # (descriptors above 2 closed: the broker must not hold this script's lock)
    setsid bash -c '
        echo $$ >"$0"
        for f in /proc/$$/fd/*; do
            n=${f##*/}
            if [ "$n" -gt 2 ]; then eval "exec $n>&-"; fi
        done 2>/dev/null
        exec "$@"' "$PID_FILE" "${JAVA_CMD[@]}" </dev/null >>"$RUN_DIR/logs/kafka.out" 2>&1 &
    local _
    for _ in $(seq 1 50); do
        [[ -s "$PID_FILE" ]] && return 0
        sleep 0.1
    done
    die "could not start the broker"
}

wait_started() {
    local started=$SECONDS pid
    while (( SECONDS - started < TIMEOUT )); do
        pid="$(live_pid)" || { tail -n 40 "$RUN_DIR/logs/server.log" "$RUN_DIR/logs/kafka.out" >&2 2>/dev/null; die "the broker exited during start-up"; }
        grep -q "Kafka Server started" "$RUN_DIR/logs/server.log" 2>/dev/null && return 0
        sleep 0.5
    done
    tail -n 40 "$RUN_DIR/logs/server.log" >&2 2>/dev/null || true
    die "the broker did not start in ${TIMEOUT}s (raise MINWON_INFRA_TIMEOUT?)"
}

# One kafka-acls call (kafka.admin.AclCommand, as admin over SASL_SSL) per user, kind of
# pattern and set of operations; every resource of that set in the same call.
apply_acls() {
    [[ -f "$ACLS_DONE" ]] && return 0
    local plan
    plan="$(read_users | python3 -c '
import sys
groups = {}
for line in sys.stdin:
    parts = line.split()
    if parts[0] != "acl":
        continue
    _, user, kind, pattern, name, ops = parts
    groups.setdefault((user, pattern, ops), []).append((kind, name))
for (user, pattern, ops), resources in groups.items():
    # Strimzi spells the pattern types literal/prefix, kafka-acls LITERAL/PREFIXED
    kind_of = {"literal": "LITERAL", "prefix": "PREFIXED"}
    args = ["--allow-principal", "User:" + user, "--resource-pattern-type", kind_of[pattern]]
    for op in ops.split(","):
        args += ["--operation", op]
    for kind, name in resources:
        args += ["--" + kind, name]
    print("\t".join(args))
')"
    local count=0 line args
    while IFS= read -r line; do
        [[ -n "$line" ]] || continue
        IFS=$'\t' read -r -a args <<<"$line"
        java_cmd kafka.admin.AclCommand --bootstrap-server "$HOST:$PORT" \
            --command-config "$RUN_DIR/admin.properties" --add --force "${args[@]}"
        "${JAVA_CMD[@]}" >>"$RUN_DIR/logs/acls.log" 2>&1 \
            || { tail -n 20 "$RUN_DIR/logs/acls.log" >&2; die "kafka-acls failed: ${args[*]}"; }
        count=$((count + 1))
    done <<<"$plan"
    date -u +%FT%TZ >"$ACLS_DONE"
    log "applied the ACLs of $(realpath --relative-to="$ROOT" "$USERS_FILE" 2>/dev/null || echo "$USERS_FILE") ($count kafka-acls calls)"
}

do_up() {
    local started=$SECONDS
    need java "Java 11 or newer runs Kafka"
    need python3 "the users.yaml reader"
    if [[ ! -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]]; then
        log "Kafka $KAFKA_VERSION jars missing in $KAFKA_LIBS: installing them with infra.sh"
        bash "$HERE/infra.sh" install
    fi
    [[ -f "$USERS_FILE" ]] || die "no KafkaUser manifests at $USERS_FILE"
    if ! live_pid >/dev/null; then
        local busy=()
        for p in "$PORT" "$CONTROLLER_PORT" "$MTLS_PORT"; do
            port_busy "$p" && busy+=("$p")
        done
        (( ${#busy[@]} == 0 )) || die "port(s) ${busy[*]} on $HOST in use by something else; set MINWON_KAFKA_SECURE_PORT"
        mkdir -p "$RUN_DIR"
        chmod 700 "$RUN_DIR"
        make_credentials
        make_tls
        write_config
        format_storage
        log "starting Kafka $KAFKA_VERSION with SASL_SSL on $HOST:$PORT (mTLS :$MTLS_PORT, controller :$CONTROLLER_PORT), logs in $RUN_DIR/logs/"
        start_broker
    else
        log "secured Kafka already running (pid $(live_pid))"
    fi
    wait_started
    apply_acls
    log "up in $((SECONDS - started))s: SASL_SSL $HOST:$PORT; use: eval \"\$($0 env minwon-intake)\""
}

do_down() {
    local pid _
    if pid="$(live_pid)"; then
        log "stopping the secured Kafka (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 150); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -0 "$pid" 2>/dev/null && { log "not stopped in 30s; killing it"; kill -KILL "$pid" 2>/dev/null || true; }
    else
        log "secured Kafka not running"
    fi
    [[ -d "$RUN_DIR" ]] && { log "removing $RUN_DIR"; rm -rf "$RUN_DIR"; }
    return 0
}

do_status() {
    local pid
    pid="$(live_pid)" || { echo "secured Kafka: not running"; return 1; }
    echo "secured Kafka: pid $pid, SASL_SSL $HOST:$PORT, mTLS $HOST:$MTLS_PORT"
    [[ -f "$ACLS_DONE" ]] || { echo "ACLs: not applied"; return 1; }
    echo "ACLs: applied $(cat "$ACLS_DONE") from $USERS_FILE"
}

do_env() {
    local user="${1:-}"
    [[ -s "$CREDENTIALS" ]] || die "not up (no $CREDENTIALS); run 'up' first"
    echo "export KAFKA_BOOTSTRAP_SERVERS=$HOST:$PORT"
    echo "export MINWON_KAFKA_SECURITY_PROTOCOL=SASL_SSL"
    echo "export MINWON_KAFKA_SASL_MECHANISM=SCRAM-SHA-512"
    echo "export MINWON_KAFKA_SSL_CAFILE=$TLS/ca.crt"
    echo "export MINWON_KAFKA_SECURE_CREDENTIALS=$CREDENTIALS"
    echo "export MINWON_KAFKA_SECURE_MTLS=$HOST:$MTLS_PORT"
    echo "export MINWON_KAFKA_SECURE_TLS_DIR=$TLS"
    if [[ -n "$user" ]]; then
        local password
        password="$(password_of "$user")"
        [[ -n "$password" ]] || die "no user $user in $CREDENTIALS"
        echo "export MINWON_KAFKA_SASL_USERNAME=$user"
        echo "export MINWON_KAFKA_SASL_PASSWORD=$password"
    fi
}

do_mtls() {
    local user="${1:-}"
    [[ -n "$user" && -f "$TLS/$user.crt" ]] || die "no client certificate for '${user}' in $TLS"
    echo "export KAFKA_BOOTSTRAP_SERVERS=$HOST:$MTLS_PORT"
    echo "export MINWON_KAFKA_SECURITY_PROTOCOL=SSL"
    echo "export MINWON_KAFKA_SSL_CAFILE=$TLS/ca.crt"
    echo "export MINWON_KAFKA_SSL_CERTFILE=$TLS/$user.crt"
    echo "export MINWON_KAFKA_SSL_KEYFILE=$TLS/$user.key"
}

do_logs() {
    local f
    for f in "$RUN_DIR/logs/server.log" "$RUN_DIR/logs/kafka.out" "$RUN_DIR/logs/acls.log"; do
        echo "==> $f"
        tail -n 20 "$f" 2>/dev/null || echo "(missing)"
    done
}

with_lock() {
    local fd
    mkdir -p "$(dirname "$RUN_DIR")"
    exec {fd}>"${RUN_DIR%/}.lock"
    flock -w 900 "$fd" || die "timed out waiting for ${RUN_DIR%/}.lock"
    "$@"
}

usage() { awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; }

case "${1:-}" in
    up) with_lock do_up ;;
    down) with_lock do_down ;;
    status) do_status ;;
    env) do_env "${2:-}" ;;
    mtls) do_mtls "${2:-}" ;;
    logs) do_logs ;;
    -h | --help | help) usage ;;
    *) usage >&2; die "unknown command '${1:-}' (use up, down, status, env, mtls, logs)" ;;
esac
