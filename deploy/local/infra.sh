#!/usr/bin/env bash
# Local infrastructure for minwon without Docker: a real Apache Kafka broker
# (KRaft, single node acting as broker + controller) and FerretDB (MongoDB wire
# protocol on an SQLite backend), both listening on 127.0.0.1 only.
#
#   deploy/local/infra.sh install   fetch/build into the cache (idempotent)
#   deploy/local/infra.sh up        install if needed, start both, wait until they answer
#   deploy/local/infra.sh down      stop both and remove the run directory (all data)
#   deploy/local/infra.sh status    show what runs and whether it answers (exit 0 = both up)
#   deploy/local/infra.sh env       print the export lines for the services, e.g.
#                                     eval "$(deploy/local/infra.sh env)"
#   deploy/local/infra.sh logs      print where the log files are and their last lines
#   deploy/local/infra.sh ferretdb-stop | ferretdb-start   stop or start FerretDB alone, data kept
#   deploy/local/infra.sh kafka-stop | kafka-start | kafka-restart   the same for Kafka (outage drills)
#
# Needs: Java >= 11 (run Kafka), Maven (first install only), Go >= 1.24 (first
# install only), python3 (readiness probes, standard library only).
#
# Environment (all optional):
#   MINWON_CACHE               cache for jars and binaries   (default: $HOME/.cache/minwon)
#   MINWON_INFRA_DIR           run dir: configs, data, logs, pids (default: /tmp/minwon-infra)
#   (the default ports are below the kernel's ephemeral range, 32768 and up, so that no outgoing
#   connection of a test can hold one while a server starts)
#   MINWON_KAFKA_PORT          Kafka client port              (default: 19092)
#   MINWON_KAFKA_CONTROLLER_PORT  KRaft controller port       (default: Kafka port + 1)
#   MINWON_FERRETDB_PORT       FerretDB (MongoDB wire) port   (default: 17017)
#   MINWON_KAFKA_JVM_OPTS      JVM options for the broker     (default: -Xms128m -Xmx512m
#                              -XX:+UseSerialGC -XX:TieredStopAtLevel=1: least CPU to start)
#   MINWON_INFRA_TIMEOUT       seconds to wait for each service (default: 120)
#   MINWON_FERRETDB_GOGC       FerretDB's Go GC target (GOGC): 400 collects a quarter as often as
#                              Go's 100: about 17 % less of its CPU per complaint  (default: 400)
#   MINWON_FERRETDB_DEBUG_ADDR FerretDB's debug listener (Go pprof at /debug/pprof/, its own
#                              metrics), e.g. 127.0.0.1:18088; "-": none      (default: -)
#   MINWON_KAFKA_CDS           1: keep a JVM class-data-sharing archive of the broker in the
#                              cache (written when a broker stops via `down`; later starts
#                              need about half the CPU); 0: off      (default: 1)
set -euo pipefail

KAFKA_VERSION=3.9.1
FERRETDB_VERSION=1.24.2
# FerretDB 1.24.2's SQLite handler writes its `_id` pushdown as `_ferretdb_sjson->'$._id'` while its
# unique `_id` index is on `_ferretdb_sjson->"_id"`; SQLite matches index expressions as written, so
# every lookup and update by `_id` scanned the whole collection (measured: 0.9 ms for the first of
# 15,000 documents, 58 ms for the last). The local build writes the pushdown as the index is written.
# Its leak tracker (`internal/util/resource`) records a stack profile sample for every cursor, iterator
# and connection and panics from a finalizer if one was not released; the local build keeps it for
# debug builds only (`-tags ferretdb_debug`), as it already does with the stack it attaches
# (measured: 4 % of its CPU per command; Go's profiler had put it at 6 to 8 %).
FERRETDB_PACKAGE=minwon-local-id-pushdown-untracked

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_DIR="${MINWON_CACHE:-$HOME/.cache/minwon}"
RUN_DIR="${MINWON_INFRA_DIR:-/tmp/minwon-infra}"
KAFKA_PORT="${MINWON_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${MINWON_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
FERRETDB_PORT="${MINWON_FERRETDB_PORT:-17017}"
KAFKA_JVM_OPTS="${MINWON_KAFKA_JVM_OPTS:--Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
TIMEOUT="${MINWON_INFRA_TIMEOUT:-120}"
KAFKA_CDS="${MINWON_KAFKA_CDS:-1}"
JAVA_MAJOR=0
JAVA_VERSION_OUT=""
HOST=127.0.0.1

KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_POM="$HERE/kafka/pom.xml"
FERRETDB_HOME="$CACHE_DIR/ferretdb-$FERRETDB_VERSION"
FERRETDB_BIN="$FERRETDB_HOME/bin/ferretdb"
PROBE="$HERE/probe.py"

KAFKA_PID_FILE="$RUN_DIR/kafka.pid"
FERRETDB_PID_FILE="$RUN_DIR/ferretdb.pid"
PORTS_FILE="$RUN_DIR/ports"

# A run dir remembers its ports, so `env`, `status` and `down` work from any shell.
if [[ -f "$PORTS_FILE" ]]; then
    saved_kafka="$(sed -n 's/^kafka=//p' "$PORTS_FILE")"
    saved_controller="$(sed -n 's/^controller=//p' "$PORTS_FILE")"
    saved_ferretdb="$(sed -n 's/^ferretdb=//p' "$PORTS_FILE")"
    if [[ -n "${MINWON_KAFKA_PORT:-}${MINWON_KAFKA_CONTROLLER_PORT:-}${MINWON_FERRETDB_PORT:-}" ]] \
        && [[ "$saved_kafka:$saved_controller:$saved_ferretdb" != "$KAFKA_PORT:$KAFKA_CONTROLLER_PORT:$FERRETDB_PORT" ]] \
        && [[ "${1:-}" == up ]]; then
        printf '[infra] ERROR: %s\n' "run dir $RUN_DIR was started with ports kafka=$saved_kafka controller=$saved_controller ferretdb=$saved_ferretdb, not the requested $KAFKA_PORT/$KAFKA_CONTROLLER_PORT/$FERRETDB_PORT. Run 'down' first, or use another MINWON_INFRA_DIR." >&2
        exit 1
    fi
    KAFKA_PORT="${saved_kafka:-$KAFKA_PORT}"
    KAFKA_CONTROLLER_PORT="${saved_controller:-$KAFKA_CONTROLLER_PORT}"
    FERRETDB_PORT="${saved_ferretdb:-$FERRETDB_PORT}"
fi

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- tool checks
need_python() {
    command -v python3 >/dev/null 2>&1 || die "python3 is required (readiness probes). Install Python 3."
}

need_java() {
    command -v java >/dev/null 2>&1 \
        || die "Java is required to run Kafka $KAFKA_VERSION (Java 11 or newer; 17 recommended). Install e.g. 'apt-get install openjdk-17-jre-headless'."
    local v
    JAVA_VERSION_OUT="$(java -version 2>&1)" || die "'java -version' failed: $JAVA_VERSION_OUT"
    v="$(awk -F'"' '/version/ && v == "" {v = $2} END {print v}' <<<"$JAVA_VERSION_OUT")"
    local major="${v%%.*}"
    [[ "$major" == 1 ]] && major="$(echo "$v" | cut -d. -f2)"
    if [[ "$major" =~ ^[0-9]+$ ]] && (( major < 11 )); then
        die "Java $v found, Kafka $KAFKA_VERSION needs Java 11 or newer."
    fi
    JAVA_MAJOR="${major:-0}"
}

need_maven() {
    command -v mvn >/dev/null 2>&1 \
        || die "Maven (mvn) is required to fetch the Kafka jars on first install. Install e.g. 'apt-get install maven'."
}

need_go() {
    command -v go >/dev/null 2>&1 \
        || die "Go 1.24 or newer is required to build FerretDB $FERRETDB_VERSION on first install. Install Go from your distribution or go.dev."
    local v
    v="$(go env GOVERSION 2>/dev/null || true)"
    v="${v#go}"
    local major="${v%%.*}" rest="${v#*.}"
    local minor="${rest%%.*}"
    if [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] && (( major == 1 && minor < 24 )); then
        log "Go $v found; FerretDB $FERRETDB_VERSION needs Go >= 1.24 (the go command may fetch that toolchain itself)."
    fi
}

# Serialise concurrent invocations (e.g. several test workers calling `up`).
# with_lock LOCKFILE CMD...  (each call takes its own file descriptor, so locks nest;
# the lock is released when CMD returns)
with_lock() {
    local lockfile="$1" fd=""
    shift
    mkdir -p "$(dirname "$lockfile")"
    if command -v flock >/dev/null 2>&1; then
        exec {fd}>"$lockfile"
        if ! flock -n "$fd"; then
            log "waiting for another infra.sh holding $lockfile ..."
            flock -w 900 "$fd" || die "timed out waiting for lock $lockfile"
        fi
    fi
    "$@"
    if [[ -n "$fd" ]]; then
        exec {fd}>&-
    fi
}

# ---------------------------------------------------------------- install
kafka_installed() {
    [[ -f "$KAFKA_HOME/.complete" ]] \
        && [[ "$(cat "$KAFKA_HOME/.complete")" == "$(pom_digest)" ]] \
        && ls "$KAFKA_LIBS"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1
}

pom_digest() {
    { echo "$KAFKA_VERSION"; cat "$KAFKA_POM"; } | sha256sum | cut -d' ' -f1
}

ferretdb_installed() {
    [[ -x "$FERRETDB_BIN" ]] || return 1
    local out # (no `| grep -q` under pipefail: an early grep exit SIGPIPEs the writer)
    out="$("$FERRETDB_BIN" --version 2>/dev/null)" || return 1
    [[ "$out" == *"version: v$FERRETDB_VERSION"* && "$out" == *"package: $FERRETDB_PACKAGE"* ]]
}

install_kafka() {
    if kafka_installed; then
        log "Kafka $KAFKA_VERSION jars already in $KAFKA_LIBS"
        return
    fi
    need_maven
    log "fetching Apache Kafka $KAFKA_VERSION jars with Maven into $KAFKA_LIBS ..."
    local started=$SECONDS tmp="$KAFKA_HOME/libs.tmp"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    # (sed: Maven 3.8 prints bare ANSI resets even in batch mode)
    mvn -q -B -Dstyle.color=never -f "$KAFKA_POM" -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies -DoutputDirectory="$tmp" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2 \
        || die "Maven could not fetch the Kafka jars (see output above)."
    ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "Maven ran but kafka_2.13-$KAFKA_VERSION.jar is missing in $tmp"
    rm -rf "$KAFKA_LIBS"
    mv "$tmp" "$KAFKA_LIBS"
    pom_digest >"$KAFKA_HOME/.complete"
    log "Kafka jars ready ($(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars, $(du -sh "$KAFKA_LIBS" | cut -f1)) in $((SECONDS - started))s"
}

install_ferretdb() {
    if ferretdb_installed; then
        log "FerretDB $FERRETDB_VERSION already built at $FERRETDB_BIN"
        return
    fi
    need_go
    log "building FerretDB $FERRETDB_VERSION with Go (takes a few minutes the first time) ..."
    local started=$SECONDS
    # `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v$FERRETDB_VERSION` would build a
    # binary that panics at start: the module zip lacks the generated build/version/version.txt.
    # So: download the module, copy its source, write version.txt, build from the copy.
    local src="$FERRETDB_HOME/src" work
    work="$(mktemp -d)"
    local dir
    dir="$(cd "$work" && GO111MODULE=on go mod download -json "github.com/FerretDB/FerretDB@v$FERRETDB_VERSION" \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("Dir") or ""); sys.exit(1 if d.get("Error") else 0)')" \
        || die "could not download the FerretDB module v$FERRETDB_VERSION with the go command."
    rm -rf "$work"
    [[ -d "$dir" ]] || die "go mod download reported no source directory for FerretDB."
    rm -rf "$src"
    mkdir -p "$FERRETDB_HOME/bin"
    cp -r "$dir" "$src"
    chmod -R u+w "$src"
    echo "v$FERRETDB_VERSION" >"$src/build/version/version.txt"
    echo "$FERRETDB_PACKAGE" >"$src/build/version/package.txt"
    python3 - "$src/internal/backends/sqlite/metadata/metadata.go" <<'PY' || die "could not apply the _id pushdown fix to FerretDB."
import sys
path = sys.argv[1]
text = open(path).read()
old = 'IDColumn = DefaultColumn + "->\'$._id\'"'
if old not in text:
    sys.exit("the _id pushdown expression was not found")
open(path, "w").write(text.replace(old, 'IDColumn = DefaultColumn + "->\\"_id\\""'))
PY
    python3 - "$src/internal/util/resource/resource.go" <<'PY' || die "could not apply the leak tracker change to FerretDB."
import sys
path = sys.argv[1]
text = open(path).read()
for head in ("func Track(obj any, token *Token) {\n", "func Untrack(obj any, token *Token) {\n"):
    if head not in text:
        sys.exit(f"{head.strip()} was not found")
    text = text.replace(head, head + "\tif !debugbuild.Enabled {\n\t\treturn\n\t}\n")
open(path, "w").write(text)
PY
    (cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" \
        go build -trimpath -buildvcs=false -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb) >&2 \
        || die "building FerretDB failed (see output above)."
    mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
    rm -rf "$src"
    ferretdb_installed || die "built $FERRETDB_BIN but it does not report version v$FERRETDB_VERSION"
    log "FerretDB built in $((SECONDS - started))s: $FERRETDB_BIN"
}

do_install() {
    need_python
    install_kafka
    install_ferretdb
}

# ---------------------------------------------------------------- process helpers
# pid of a running process of ours recorded in a pid file whose command line contains $2
live_pid() {
    local pidfile="$1" pattern="$2" pid
    [[ -f "$pidfile" ]] || return 1
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    local cmdline
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *"$pattern"* ]] || return 1
    echo "$pid"
}

kafka_answers() { python3 "$PROBE" kafka "$HOST:$KAFKA_PORT" --quiet; }
ferretdb_answers() { python3 "$PROBE" mongo "$HOST:$FERRETDB_PORT" --quiet; }

port_busy() {
    # bash's /dev/tcp: connect succeeds only if something listens (no python start-up cost)
    # shellcheck disable=SC2016 # expanded by the inner shell
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null
}

# wait_ready NAME PIDFILE PATTERN KIND PORT LOGFILE
wait_ready() {
    local name="$1" pidfile="$2" pattern="$3" kind="$4" port="$5" logfile="$6"
    local started=$SECONDS pid rc=0
    pid="$(live_pid "$pidfile" "$pattern")" || pid=0
    python3 "$PROBE" "$kind" "$HOST:$port" --wait "$TIMEOUT" --pid "$pid" --quiet || rc=$?
    case "$rc" in
        0) log "$name answers on $HOST:$port (waited $((SECONDS - started))s)" ;;
        3)
            log "$name exited during start-up; last lines of $logfile:"
            tail -n 40 "$logfile" >&2 2>/dev/null || true
            die "$name did not start"
            ;;
        *)
            log "$name still not answering on $HOST:$port after ${TIMEOUT}s; last lines of $logfile:"
            tail -n 40 "$logfile" >&2 2>/dev/null || true
            die "$name did not become ready (raise MINWON_INFRA_TIMEOUT?)"
            ;;
    esac
}

# start_bg PIDFILE LOGFILE CMD... : detached from our session so it outlives the caller
start_bg() {
    local pidfile="$1" logfile="$2"
    shift 2
    # The inner shell closes every inherited descriptor above 2 (notably our flock
    # descriptors, which would otherwise stay locked for the server's lifetime).
    # shellcheck disable=SC2016 # expanded by the inner shell
    setsid bash -c '
        echo $$ >"$0"
        for f in /proc/$$/fd/*; do
            n=${f##*/}
            if [ "$n" -gt 2 ]; then eval "exec $n>&-"; fi
        done 2>/dev/null
        exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 &
    local _
    for _ in $(seq 1 50); do
        [[ -s "$pidfile" ]] && return 0
        sleep 0.1
    done
    die "could not start: $*"
}

# ---------------------------------------------------------------- Kafka
write_kafka_config() {
    mkdir -p "$RUN_DIR/kafka-logs" "$RUN_DIR/kafka-data"
    cat >"$RUN_DIR/kafka.properties" <<EOF
# Generated by deploy/local/infra.sh: single-node KRaft (combined broker + controller).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$RUN_DIR/kafka-data

auto.create.topics.enable=true
delete.topic.enable=true
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0

# lifecycle topics must be replayable: keep everything
log.retention.ms=-1
log.retention.bytes=-1

num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
    cat >"$RUN_DIR/kafka-log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$RUN_DIR/kafka-logs/server.log
log4j.appender.file.Append=true
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.controller=INFO
log4j.logger.org.apache.kafka.controller=INFO
EOF
}

# Class-data sharing (AppCDS, Java >= 13): the first broker started without an archive
# dumps one when it exits cleanly (`down`); `down` then moves it into the cache.
cds_archive() {
    local key
    # the JVM rejects an archive made with another JVM build or other jar files
    key="$({ echo "$JAVA_VERSION_OUT"; echo "$KAFKA_JVM_OPTS"; stat -c %Y "$KAFKA_LIBS"; pom_digest; } | sha256sum | cut -c1-12)"
    echo "$KAFKA_HOME/cds-$key.jsa"
}

cds_opts() {
    CDS_OPTS=()
    [[ "$KAFKA_CDS" == 1 ]] && (( JAVA_MAJOR >= 13 )) || return 0
    local archive
    archive="$(cds_archive)"
    if [[ -s "$archive" ]]; then
        CDS_OPTS=(-XX:SharedArchiveFile="$archive" -Xshare:auto)
    elif [[ "${1:-}" == dump ]]; then
        find "$KAFKA_HOME" -maxdepth 1 -name 'cds-*.jsa.tmp.*' -mmin +1440 -delete 2>/dev/null || true
        local tmp="$archive.tmp.$$"
        echo "$tmp $archive" >"$RUN_DIR/kafka.cds-pending"
        CDS_OPTS=(-XX:ArchiveClassesAtExit="$tmp")
    fi
}

promote_cds_archive() {
    [[ -f "$RUN_DIR/kafka.cds-pending" ]] || return 0
    local tmp archive
    read -r tmp archive <"$RUN_DIR/kafka.cds-pending"
    if [[ -s "$tmp" && "$STOP_GRACEFUL" == 1 ]]; then
        mv -f "$tmp" "$archive"
        log "saved JVM class-data-sharing archive $archive (faster Kafka starts from now on)"
    else
        rm -f "$tmp"
    fi
    rm -f "$RUN_DIR/kafka.cds-pending"
}

# kafka_cmd [dump] MAINCLASS ARGS... : sets the array KAFKA_CMD to the java command line
kafka_cmd() {
    local opts
    read -r -a opts <<<"$KAFKA_JVM_OPTS"
    if [[ "$1" == dump ]]; then
        shift
        cds_opts dump
    else
        cds_opts
    fi
    KAFKA_CMD=(java "${opts[@]}" "${CDS_OPTS[@]}" -Djava.awt.headless=true
        -Dlog4j.configuration="file:$RUN_DIR/kafka-log4j.properties"
        -Dkafka.logs.dir="$RUN_DIR/kafka-logs"
        -cp "$KAFKA_LIBS/*" "$@")
}

# The KRaft storage format (meta.properties + bootstrap.checkpoint, made by
# kafka.tools.StorageTool) does not depend on ports or paths: format once into the cache
# and copy it into each fresh run dir, which saves a JVM start on every `up`.
KAFKA_TEMPLATE="$KAFKA_HOME/kraft-storage-node1"
ensure_kraft_template() {
    [[ -f "$KAFKA_TEMPLATE/meta.properties" ]] && return 0
    local tmp="$KAFKA_HOME/kraft-storage.tmp.$$" cluster_id
    rm -rf "$tmp" "$tmp.properties"
    mkdir -p "$tmp"
    sed "s|^log.dirs=.*|log.dirs=$tmp|" "$RUN_DIR/kafka.properties" >"$tmp.properties"
    cluster_id="$(python3 -c 'import base64,uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')"
    log "formatting KRaft storage template (cluster id $cluster_id) with kafka.tools.StorageTool"
    kafka_cmd kafka.tools.StorageTool format -t "$cluster_id" -c "$tmp.properties"
    "${KAFKA_CMD[@]}" >>"$RUN_DIR/kafka-logs/format.log" 2>&1 \
        || { tail -n 20 "$RUN_DIR/kafka-logs/format.log" >&2; rm -rf "$tmp" "$tmp.properties"; die "formatting Kafka storage failed"; }
    rm -f "$tmp.properties"
    [[ -f "$tmp/meta.properties" ]] || die "kafka.tools.StorageTool wrote no meta.properties into $tmp"
    # another `up` may have won the race; either template is fine
    mv -T "$tmp" "$KAFKA_TEMPLATE" 2>/dev/null || rm -rf "$tmp"
}

# launch_kafka: start the broker in the background unless it already runs (no waiting)
launch_kafka() {
    local pid
    if pid="$(live_pid "$KAFKA_PID_FILE" kafka.Kafka)"; then
        log "Kafka already running (pid $pid)"
        return
    fi
    need_java
    write_kafka_config
    if [[ ! -f "$RUN_DIR/kafka-data/meta.properties" ]]; then
        ensure_kraft_template
        log "initialising KRaft storage in $RUN_DIR/kafka-data from $KAFKA_TEMPLATE"
        cp -a "$KAFKA_TEMPLATE/." "$RUN_DIR/kafka-data/"
    fi
    log "starting Kafka $KAFKA_VERSION (KRaft broker+controller) on $HOST:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT), logs in $RUN_DIR/kafka-logs/"
    kafka_cmd dump kafka.Kafka "$RUN_DIR/kafka.properties"
    start_bg "$KAFKA_PID_FILE" "$RUN_DIR/kafka-logs/kafka.out" "${KAFKA_CMD[@]}"
}

# ---------------------------------------------------------------- FerretDB
# launch_ferretdb: start FerretDB in the background unless it already runs (no waiting)
launch_ferretdb() {
    local pid
    if pid="$(live_pid "$FERRETDB_PID_FILE" ferretdb)"; then
        log "FerretDB already running (pid $pid)"
        return
    fi
    mkdir -p "$RUN_DIR/ferretdb-data" "$RUN_DIR/ferretdb-state"
    log "starting FerretDB $FERRETDB_VERSION (SQLite backend in $RUN_DIR/ferretdb-data) on $HOST:$FERRETDB_PORT, log $RUN_DIR/ferretdb.log"
    start_bg "$FERRETDB_PID_FILE" "$RUN_DIR/ferretdb.log" \
        env DO_NOT_TRACK=1 GOGC="${MINWON_FERRETDB_GOGC:-400}" "$FERRETDB_BIN" \
        --handler=sqlite \
        --sqlite-url="file:$RUN_DIR/ferretdb-data/" \
        --listen-addr="$HOST:$FERRETDB_PORT" \
        --state-dir="$RUN_DIR/ferretdb-state" \
        --debug-addr="${MINWON_FERRETDB_DEBUG_ADDR:--}" \
        --telemetry=disable \
        --log-level=WARN
}

check_ports_free() {
    local busy=()
    if ! live_pid "$KAFKA_PID_FILE" kafka.Kafka >/dev/null; then
        port_busy "$KAFKA_PORT" && busy+=("$KAFKA_PORT (Kafka)")
        port_busy "$KAFKA_CONTROLLER_PORT" && busy+=("$KAFKA_CONTROLLER_PORT (Kafka controller)")
    fi
    if ! live_pid "$FERRETDB_PID_FILE" ferretdb >/dev/null; then
        port_busy "$FERRETDB_PORT" && busy+=("$FERRETDB_PORT (FerretDB)")
    fi
    if (( ${#busy[@]} )); then
        die "port(s) ${busy[*]} on $HOST already in use by something not started from run dir $RUN_DIR. Stop it, or choose other ports/run dir: MINWON_KAFKA_PORT, MINWON_FERRETDB_PORT, MINWON_INFRA_DIR."
    fi
}

do_up() {
    local started=$SECONDS
    need_python
    with_lock "$CACHE_DIR/.install.lock" do_install
    check_ports_free
    mkdir -p "$RUN_DIR"
    printf 'kafka=%s\ncontroller=%s\nferretdb=%s\n' "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$FERRETDB_PORT" >"$PORTS_FILE"
    launch_ferretdb
    launch_kafka
    wait_ready "FerretDB" "$FERRETDB_PID_FILE" ferretdb mongo "$FERRETDB_PORT" "$RUN_DIR/ferretdb.log"
    wait_ready "Kafka" "$KAFKA_PID_FILE" kafka.Kafka kafka "$KAFKA_PORT" "$RUN_DIR/kafka-logs/server.log"
    log "up in $((SECONDS - started))s: Kafka $HOST:$KAFKA_PORT, FerretDB $HOST:$FERRETDB_PORT (run dir $RUN_DIR)"
    log "use: eval \"\$($0 env)\""
}

# ---------------------------------------------------------------- down / status / env
# signal_stop NAME PIDFILE PATTERN: send SIGTERM, print the pid (nothing if not running)
signal_stop() {
    local name="$1" pidfile="$2" pattern="$3" pid
    if ! pid="$(live_pid "$pidfile" "$pattern")"; then
        log "$name not running"
        return 0
    fi
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    echo "$pid"
}

# wait_stopped NAME PID: wait up to 30 s, then SIGKILL; sets STOP_GRACEFUL=1 on a clean exit
STOP_GRACEFUL=0
wait_stopped() {
    local name="$1" pid="$2" _
    STOP_GRACEFUL=0
    [[ -n "$pid" ]] || return 0
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || { log "$name stopped"; STOP_GRACEFUL=1; return 0; }
        sleep 0.2
    done
    log "$name did not stop in 30s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

do_down() {
    local kafka_pid ferretdb_pid
    # both at once: each takes a few seconds to shut down
    kafka_pid="$(signal_stop "Kafka" "$KAFKA_PID_FILE" kafka.Kafka)"
    ferretdb_pid="$(signal_stop "FerretDB" "$FERRETDB_PID_FILE" ferretdb)"
    wait_stopped "Kafka" "$kafka_pid"
    promote_cds_archive
    wait_stopped "FerretDB" "$ferretdb_pid"
    if [[ -d "$RUN_DIR" ]]; then
        log "removing $RUN_DIR"
        rm -rf "$RUN_DIR"
    fi
}

# One server of a run dir that is up: stop it (data kept) or start it again and wait until it answers.
need_run_dir() {
    [[ -f "$PORTS_FILE" ]] || die "run dir $RUN_DIR is not up (no $PORTS_FILE); run 'up' first"
}

do_ferretdb_stop() {
    need_run_dir
    wait_stopped "FerretDB" "$(signal_stop "FerretDB" "$FERRETDB_PID_FILE" ferretdb)"
}

do_ferretdb_start() {
    need_run_dir
    need_python
    launch_ferretdb
    wait_ready "FerretDB" "$FERRETDB_PID_FILE" ferretdb mongo "$FERRETDB_PORT" "$RUN_DIR/ferretdb.log"
}

do_kafka_stop() {
    need_run_dir
    wait_stopped "Kafka" "$(signal_stop "Kafka" "$KAFKA_PID_FILE" kafka.Kafka)"
    promote_cds_archive
}

do_kafka_start() {
    need_run_dir
    need_python
    launch_kafka
    wait_ready "Kafka" "$KAFKA_PID_FILE" kafka.Kafka kafka "$KAFKA_PORT" "$RUN_DIR/kafka-logs/server.log"
}

do_status() {
    local rc=0 pid
    if pid="$(live_pid "$KAFKA_PID_FILE" kafka.Kafka)"; then
        if kafka_answers; then echo "kafka:    running (pid $pid), answering on $HOST:$KAFKA_PORT"
        else echo "kafka:    running (pid $pid), NOT answering on $HOST:$KAFKA_PORT"; rc=3; fi
    else
        echo "kafka:    not running"; rc=3
    fi
    if pid="$(live_pid "$FERRETDB_PID_FILE" ferretdb)"; then
        if ferretdb_answers; then echo "ferretdb: running (pid $pid), answering on $HOST:$FERRETDB_PORT"
        else echo "ferretdb: running (pid $pid), NOT answering on $HOST:$FERRETDB_PORT"; rc=3; fi
    else
        echo "ferretdb: not running"; rc=3
    fi
    echo "run dir:  $RUN_DIR"
    echo "cache:    $CACHE_DIR (kafka: $(kafka_installed && echo installed || echo missing), ferretdb: $(ferretdb_installed && echo installed || echo missing))"
    return $rc
}

do_env() {
    echo "export KAFKA_BOOTSTRAP_SERVERS=$HOST:$KAFKA_PORT"
    echo "export MONGODB_URI=mongodb://$HOST:$FERRETDB_PORT/"
}

do_logs() {
    local f
    for f in "$RUN_DIR/kafka-logs/server.log" "$RUN_DIR/kafka-logs/kafka.out" "$RUN_DIR/ferretdb.log"; do
        echo "==> $f"
        tail -n 20 "$f" 2>/dev/null || echo "(missing)"
    done
}

usage() {
    awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"
}

main() {
    local cmd="${1:-}"
    case "$cmd" in
        install) with_lock "$CACHE_DIR/.install.lock" do_install ;;
        up) with_lock "${RUN_DIR%/}.lock" do_up ;;
        down) with_lock "${RUN_DIR%/}.lock" do_down ;;
        status) need_python; do_status ;;
        env) do_env ;;
        logs) do_logs ;;
        ferretdb-stop) with_lock "${RUN_DIR%/}.lock" do_ferretdb_stop ;;
        ferretdb-start) with_lock "${RUN_DIR%/}.lock" do_ferretdb_start ;;
        kafka-stop) with_lock "${RUN_DIR%/}.lock" do_kafka_stop ;;
        kafka-start) with_lock "${RUN_DIR%/}.lock" do_kafka_start ;;
        kafka-restart) with_lock "${RUN_DIR%/}.lock" do_kafka_stop && with_lock "${RUN_DIR%/}.lock" do_kafka_start ;;
        -h | --help | help) usage ;;
        *) usage >&2; die "unknown command '${cmd}' (use install, up, down, status, env, logs, ferretdb-stop, ferretdb-start, kafka-stop, kafka-start, kafka-restart)" ;;
    esac
}

main "$@"
