#!/usr/bin/env bash
# Start, stop and check the real backend services that development and tests use:
#   PostgreSQL 15 (Debian package), RabbitMQ (Debian package, + management plugin),
#   Neo4j 5.26 Community (embedded, own JVM), OpenSearch 2.19 (embedded node, own JVM),
#   Redis (Debian package; the shared rate-limit store when several API replicas run),
#   Elasticsearch 9.5 (the integ-test-zip distribution from Maven Central, own JVM, run as
#   user elasticsearch; core features only, see servers/README.md).
#
#   bash servers/services.sh start    # idempotent: reuses whatever already answers
#   bash servers/services.sh stop     # stops only what this script started (pid files)
#   bash servers/services.sh status
#
# Runtime state lives in <repo>/var/services/ (see servers/README.md). No Docker, no sudo:
# run as root (apt-get, pg_ctlcluster and the rabbitmq user need it).
set -uo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd -P)
STATE="$ROOT/var/services"

HOST=127.0.0.1
PG_PORT=${SIXDEG_PG_PORT:-5432}
PG_USER=sixdeg
PG_PASSWORD=sixdeg
PG_DATABASES="sixdeg sixdeg_test"
AMQP_PORT=${SIXDEG_AMQP_PORT:-5672}
RABBIT_MGMT_PORT=${SIXDEG_RABBITMQ_MGMT_PORT:-15672}
RABBIT_DIST_PORT=${SIXDEG_RABBITMQ_DIST_PORT:-25672}
NEO4J_PORT=${SIXDEG_NEO4J_BOLT_PORT:-7687}
OS_PORT=${SIXDEG_OPENSEARCH_PORT:-9200}
REDIS_PORT=${SIXDEG_REDIS_PORT:-6379}
OS_TRANSPORT_PORT=${SIXDEG_OPENSEARCH_TRANSPORT_PORT:-9300}
NEO4J_HEAP=${SIXDEG_NEO4J_HEAP:-768m}
# Neo4j's page cache holds the store files; smaller than the store, reads fault pages in and out (slow tails).
NEO4J_PAGECACHE_MB=${SIXDEG_NEO4J_PAGECACHE_MB:-512}
OS_HEAP=${SIXDEG_OPENSEARCH_HEAP:-512m}
TIMEOUT=${SIXDEG_SERVICES_TIMEOUT:-180}
ES_PORT=${SIXDEG_ES_PORT:-9201}
ES_TRANSPORT_PORT=${SIXDEG_ES_TRANSPORT_PORT:-9301}
ES_HEAP=${SIXDEG_ES_HEAP:-512m}
ES_VERSION=${SIXDEG_ES_VERSION:-9.5.3}
ES_USER=elasticsearch

NEO4J_DIR="$STATE/neo4j"
OS_DIR="$STATE/opensearch"
ES_DIR="$STATE/elasticsearch"

# RabbitMQ and its Erlang distribution on loopback only. Exported so that the CLI tools
# (rabbitmqctl, rabbitmq-plugins, rabbitmq-diagnostics) run by this script agree with the server.
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_NODE_IP_ADDRESS=$HOST
export RABBITMQ_NODE_PORT=$AMQP_PORT
export RABBITMQ_DIST_PORT=$RABBIT_DIST_PORT
export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"

declare -A LAUNCHED=()   # service -> $SECONDS when this run launched it
declare -A READY_AT=()   # service -> how it became ready ("answered N s after launch" / "reused")
log() { printf '[services] %s\n' "$*"; }
warn() { printf '[services] WARNING: %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }
need_root() { is_root || die "$1 needs root (no sudo is used); run this script as root"; }

# ---------------------------------------------------------------------------------------------
# Probes: does something that speaks the protocol answer on the port?
# ---------------------------------------------------------------------------------------------
port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; }

pg_ok() {
    if command -v pg_isready >/dev/null; then
        pg_isready -q -h "$HOST" -p "$PG_PORT" -t 2
    else
        port_open "$HOST" "$PG_PORT"
    fi
}

# AMQP 0-9-1 protocol header; the broker answers with a method frame (type 1: connection.start).
amqp_ok() {
    timeout 3 bash -c '
        exec 3<>"/dev/tcp/$0/$1" || exit 1
        printf "AMQP\x00\x00\x09\x01" >&3
        r=$(head -c 1 <&3 | od -An -tx1 | tr -d " \n")
        [ "$r" = 01 ]' "$HOST" "$AMQP_PORT" 2>/dev/null
}

rabbit_mgmt_ok() { curl -sf -m 3 -u guest:guest "http://$HOST:$RABBIT_MGMT_PORT/api/overview" >/dev/null 2>&1; }

# Bolt handshake: magic 0x6060B017 + versions 5.8..5.0 and 4.4; the server picks a non-zero one.
bolt_ok() {
    timeout 3 bash -c '
        exec 3<>"/dev/tcp/$0/$1" || exit 1
        printf "\x60\x60\xb0\x17\x00\x08\x08\x05\x00\x00\x04\x04\x00\x00\x00\x00\x00\x00\x00\x00" >&3
        r=$(head -c 4 <&3 | od -An -tx1 | tr -d " \n")
        [ -n "$r" ] && [ "$r" != 00000000 ]' "$HOST" "$NEO4J_PORT" 2>/dev/null
}

os_ok() {
    curl -sf -m 3 "http://$HOST:$OS_PORT/_cluster/health" 2>/dev/null | grep -qE '"status":"(green|yellow)"'
}

# Elasticsearch (not OpenSearch): the header the Python client's product check wants, and health.
es_ok() {
    local r
    r=$(curl -sf -m 3 -i "http://$HOST:$ES_PORT/_cluster/health" 2>/dev/null) || return 1
    grep -qi '^x-elastic-product: *Elasticsearch' <<<"$r" && grep -qE '"status":"(green|yellow)"' <<<"$r"
}

# ---------------------------------------------------------------------------------------------
# Pid files
# ---------------------------------------------------------------------------------------------
pid_of() { [ -s "$STATE/$1.pid" ] && tr -dc '0-9' <"$STATE/$1.pid"; }

# alive PID [PATTERN]: process exists (and its command line contains PATTERN).
alive() {
    local pid=$1 pat=${2:-}
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    [ -z "$pat" ] && return 0
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pat"
}

# Pattern that identifies each service's recorded process.
pat_for() {
    case $1 in
        neo4j) echo Neo4jLauncher ;;
        opensearch) echo SearchLauncher ;;
        elasticsearch) echo "$ES_DIR/elasticsearch-" ;;   # the launcher JVM's classpath
        rabbitmq) echo rabbitmq-server ;;
        postgres) echo postgres ;;
        redis) echo redis-server ;;
    esac
}

our_pid() { # prints the recorded pid if that process is still the one we started
    local pid
    pid=$(pid_of "$1") || return 1
    alive "$pid" "$(pat_for "$1")" && echo "$pid"
}

wait_gone() { # wait_gone PID SECONDS
    local pid=$1 n=$(( $2 * 5 ))
    while kill -0 "$pid" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.2; n=$((n - 1)); done
    ! kill -0 "$pid" 2>/dev/null
}

rotate_log() { [ -s "$1" ] && mv -f "$1" "$1.1"; : >"$1"; }

# Start "$@" in its own session (it outlives this script and its terminal), stdout+stderr to LOG,
# and write its pid (the exec'd process itself) to PIDFILE.
spawn() {
    local pidfile=$1 logfile=$2; shift 2
    rm -f "$pidfile"
    setsid sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >>"$logfile" 2>&1 </dev/null &
    local n=50
    while [ ! -s "$pidfile" ] && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    [ -s "$pidfile" ] || die "could not start: $*"
}

# ---------------------------------------------------------------------------------------------
# Installation helpers
# ---------------------------------------------------------------------------------------------
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

APT_UPDATED=
apt_install() {
    need_root "installing $*"
    if [ -z "$APT_UPDATED" ]; then
        log "apt: apt-get update"
        apt-get update -qq >"$STATE/apt.log" 2>&1 || { tail -20 "$STATE/apt.log" >&2; die "apt-get update failed"; }
        APT_UPDATED=1
    fi
    log "apt: installing $* (policy-rc.d keeps them from starting; this script starts them)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$STATE/apt.log" 2>&1 \
        || { tail -20 "$STATE/apt.log" >&2; die "apt-get install $* failed (log: $STATE/apt.log)"; }
}

ensure_packages() { # ensure_packages PKG... (installs the missing ones in one apt-get call)
    local missing=() p
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

# The JDK that runs Neo4j 5.26 and OpenSearch 2.19 (both need Java 17+; 17 is what we test on).
JAVA_HOME_SVC=
find_java() {
    local j
    if [ -n "${SIXDEG_JAVA_HOME:-}" ]; then
        JAVA_HOME_SVC=$SIXDEG_JAVA_HOME
    else
        for j in /usr/lib/jvm/java-17-openjdk-*; do
            [ -x "$j/bin/javac" ] && { JAVA_HOME_SVC=$j; break; }
        done
        if [ -z "$JAVA_HOME_SVC" ] && command -v javac >/dev/null; then
            JAVA_HOME_SVC=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
        fi
    fi
    if [ -z "$JAVA_HOME_SVC" ] || [ ! -x "$JAVA_HOME_SVC/bin/java" ]; then
        ensure_packages openjdk-17-jdk-headless
        JAVA_HOME_SVC=$(ls -d /usr/lib/jvm/java-17-openjdk-* 2>/dev/null | head -1)
    fi
    [ -x "$JAVA_HOME_SVC/bin/java" ] || die "no JDK 17 found (set SIXDEG_JAVA_HOME)"
}

# build_lib NAME POM LIBDIR: fill LIBDIR with the pom's runtime jars (only if missing or pom changed).
build_lib() {
    local name=$1 pom=$2 lib=$3 sum_file="$3.pom.sha256" sum t0
    sum=$(sha256sum "$pom" | cut -d' ' -f1)
    if [ -d "$lib" ] && [ "$(cat "$sum_file" 2>/dev/null)" = "$sum" ]; then
        return 0
    fi
    command -v mvn >/dev/null || ensure_packages maven
    if [ -d "$lib" ]; then
        log "$name: $(basename "$pom") changed, rebuilding lib dir"
    elif [ -d "$HOME/.m2/repository" ]; then
        log "$name: building lib dir with Maven (jars from ~/.m2, or Maven Central if missing)…"
    else
        log "$name: building lib dir from Maven Central (first run, a few minutes)…"
    fi
    t0=$SECONDS
    rm -rf "$lib.tmp"
    if ! JAVA_HOME=$JAVA_HOME_SVC mvn -B -q -f "$pom" dependency:copy-dependencies \
            -DincludeScope=runtime -DoutputDirectory="$lib.tmp" >"$STATE/$name-build.log" 2>&1; then
        tail -30 "$STATE/$name-build.log" >&2
        die "$name: Maven could not build the lib dir (log: $STATE/$name-build.log)"
    fi
    rm -rf "$lib" && mv "$lib.tmp" "$lib" && echo "$sum" >"$sum_file"
    log "$name: lib dir ready ($(ls "$lib" | wc -l) jars, $(du -sh "$lib" | cut -f1), $((SECONDS - t0)) s)"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------
PG_VERSION=''
PG_CLUSTER=main
pg_find_cluster() {
    PG_VERSION=${SIXDEG_PG_VERSION:-$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)}
    [ -n "$PG_VERSION" ] || die "postgres: no server version found in /usr/lib/postgresql"
}
pg_datadir() { pg_lsclusters -h "$PG_VERSION" "$PG_CLUSTER" 2>/dev/null | awk '{print $6}'; }

start_postgres() {
    if pg_ok; then
        log "postgres: already answering on $HOST:$PG_PORT, reusing it"
        return 0
    fi
    need_root "starting PostgreSQL"
    ensure_packages postgresql
    pg_find_cluster
    if ! pg_lsclusters -h "$PG_VERSION" "$PG_CLUSTER" 2>/dev/null | grep -q .; then
        log "postgres: creating cluster $PG_VERSION/$PG_CLUSTER"
        pg_createcluster "$PG_VERSION" "$PG_CLUSTER" >>"$STATE/postgres.log" 2>&1 || die "postgres: pg_createcluster failed"
    fi
    log "postgres: starting cluster $PG_VERSION/$PG_CLUSTER on $HOST:$PG_PORT"
    LAUNCHED[postgres]=$SECONDS
    rotate_log "$STATE/postgres.log"
    if ! pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" start \
            -- -o "-c listen_addresses=$HOST -c port=$PG_PORT" >>"$STATE/postgres.log" 2>&1; then
        tail -20 "$STATE/postgres.log" >&2
        tail -20 "/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log" >&2 2>/dev/null
        die "postgres: pg_ctlcluster start failed"
    fi
    local dd
    dd=$(pg_datadir)
    head -1 "$dd/postmaster.pid" >"$STATE/postgres.pid"
}

# Idempotent: login role sixdeg/sixdeg (superuser: tests create and drop databases) + databases.
pg_provision() {
    local sql db
    sql="DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN SUPERUSER PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE $PG_USER LOGIN SUPERUSER PASSWORD '$PG_PASSWORD';
  END IF;
END\$\$;"
    for db in $PG_DATABASES; do
        sql="$sql
SELECT 'CREATE DATABASE $db OWNER $PG_USER' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')\\gexec"
    done
    # Already done (e.g. a Postgres that we reuse)? Then no need for local superuser access.
    if pg_login_ok && PGPASSWORD=$PG_PASSWORD psql -qAt -h "$HOST" -p "$PG_PORT" -U "$PG_USER" -d sixdeg_test -c 'select 1' >/dev/null 2>&1; then
        return 0
    fi
    if is_root && id postgres >/dev/null 2>&1; then
        (cd / && printf '%s\n' "$sql" | runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres) \
            >>"$STATE/postgres.log" 2>&1 || { tail -5 "$STATE/postgres.log" >&2; return 1; }
    else
        return 1
    fi
}

pg_login_ok() {
    PGPASSWORD=$PG_PASSWORD psql -qAt -h "$HOST" -p "$PG_PORT" -U "$PG_USER" -d sixdeg -c 'select 1' 2>/dev/null | grep -q '^1$'
}

stop_postgres() {
    local pid
    pid=$(pid_of postgres) || { log "postgres: not started by services.sh, leaving it alone"; return 0; }
    if ! alive "$pid" postgres; then
        log "postgres: not running (stale pid file)"
        rm -f "$STATE/postgres.pid"
        return 0
    fi
    pg_find_cluster
    local dd cur
    dd=$(pg_datadir)
    cur=$(head -1 "$dd/postmaster.pid" 2>/dev/null)
    if [ "$cur" != "$pid" ]; then
        warn "postgres: pid $pid is not the postmaster of $PG_VERSION/$PG_CLUSTER any more, leaving it alone"
        rm -f "$STATE/postgres.pid"
        return 0
    fi
    log "postgres: stopping cluster $PG_VERSION/$PG_CLUSTER (pid $pid)"
    pg_ctlcluster --skip-systemctl-redirect -m fast "$PG_VERSION" "$PG_CLUSTER" stop >>"$STATE/postgres.log" 2>&1 \
        || warn "postgres: pg_ctlcluster stop failed"
    wait_gone "$pid" 60 || warn "postgres: pid $pid still running"
    rm -f "$STATE/postgres.pid"
}

# ---------------------------------------------------------------------------------------------
# RabbitMQ
# ---------------------------------------------------------------------------------------------
RABBIT_MGMT=1
if [ -r /etc/rabbitmq/enabled_plugins ] && ! grep -q rabbitmq_management /etc/rabbitmq/enabled_plugins; then
    RABBIT_MGMT=0
fi
start_rabbitmq() {
    if amqp_ok; then
        log "rabbitmq: already answering on $HOST:$AMQP_PORT, reusing it"
        return 0
    fi
    local pid
    if pid=$(our_pid rabbitmq); then
        log "rabbitmq: already starting (pid $pid), waiting for it"
        return 0
    fi
    need_root "starting RabbitMQ"
    ensure_packages rabbitmq-server
    if ! grep -q rabbitmq_management /etc/rabbitmq/enabled_plugins 2>/dev/null; then
        log "rabbitmq: enabling the rabbitmq_management plugin (offline)"
        rabbitmq-plugins enable --offline rabbitmq_management >>"$STATE/rabbitmq.log" 2>&1 \
            || { warn "rabbitmq: could not enable rabbitmq_management; no HTTP API"; RABBIT_MGMT=0; }
    fi
    # epmd is a separate daemon that the broker starts if none runs; remember if it was us.
    if epmd -names >/dev/null 2>&1; then rm -f "$STATE/epmd.started"; else touch "$STATE/epmd.started"; fi
    log "rabbitmq: starting on $HOST:$AMQP_PORT (management $HOST:$RABBIT_MGMT_PORT)"
    rotate_log "$STATE/rabbitmq.log"
    LAUNCHED[rabbitmq]=$SECONDS
    # Foreground broker in its own session, as the rabbitmq user, logging to our log file.
    (cd /var/lib/rabbitmq || exit 1
        export HOME=/var/lib/rabbitmq RABBITMQ_LOGS=-
        export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} -rabbitmq_management tcp_config [{ip,\"$HOST\"},{port,$RABBIT_MGMT_PORT}]"
        spawn "$STATE/rabbitmq.pid" "$STATE/rabbitmq.log" \
            setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server) || exit 1
}

rabbit_ready() { amqp_ok && { [ "$RABBIT_MGMT" = 0 ] || rabbit_mgmt_ok; }; }

# ---------------------------------------------------------------------------------------------
# Redis (in memory only: rate-limit counters need no persistence)
# ---------------------------------------------------------------------------------------------
redis_ok() { [ "$(timeout 2 redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

start_redis() {
    if command -v redis-cli >/dev/null 2>&1 && redis_ok; then
        log "redis: already answering on $HOST:$REDIS_PORT, reusing it"
        return 0
    fi
    local pid
    if pid=$(our_pid redis); then
        log "redis: already starting (pid $pid), waiting for it"
        return 0
    fi
    ensure_packages redis-server
    log "redis: starting on $HOST:$REDIS_PORT"
    rotate_log "$STATE/redis.log"
    LAUNCHED[redis]=$SECONDS
    (cd "$STATE" && spawn "$STATE/redis.pid" "$STATE/redis.log" /usr/bin/redis-server --bind "$HOST" \
        --port "$REDIS_PORT" --save "" --appendonly no --daemonize no --protected-mode yes) || exit 1
}

stop_rabbitmq() {
    local pid
    pid=$(pid_of rabbitmq) || { log "rabbitmq: not started by services.sh, leaving it alone"; return 0; }
    if ! alive "$pid" rabbitmq-server; then
        log "rabbitmq: not running (stale pid file)"
    else
        log "rabbitmq: stopping (pid $pid)"
        rabbitmqctl -q stop >>"$STATE/rabbitmq.log" 2>&1 || kill -TERM "$pid" 2>/dev/null
        if ! wait_gone "$pid" 60; then
            warn "rabbitmq: still running after 60 s, sending SIGTERM"
            kill -TERM "$pid" 2>/dev/null
            wait_gone "$pid" 30 || warn "rabbitmq: pid $pid still running"
        fi
    fi
    rm -f "$STATE/rabbitmq.pid"
    if [ -e "$STATE/epmd.started" ]; then
        # Only quits when no Erlang node is registered any more.
        epmd -kill >/dev/null 2>&1 && log "rabbitmq: stopped epmd"
        rm -f "$STATE/epmd.started"
    fi
}

# ---------------------------------------------------------------------------------------------
# Neo4j and OpenSearch (own JVMs, own lib dirs)
# ---------------------------------------------------------------------------------------------
NEO4J_JAVA_OPTS=(
    -Xms256m "-Xmx$NEO4J_HEAP" -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow -XX:+ExitOnOutOfMemoryError
    --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED
    --enable-native-access=ALL-UNNAMED
    -Dio.netty.tryReflectionSetAccessible=true -Djdk.nio.maxCachedBufferSize=1024
    -Dlog4j2.disable.jmx=true -Dfile.encoding=UTF-8
)
OS_JAVA_OPTS=(
    "-Xms$OS_HEAP" "-Xmx$OS_HEAP" -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow -XX:+ExitOnOutOfMemoryError
    -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0
    -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Djna.nosys=true
    -Djava.awt.headless=true -Dfile.encoding=UTF-8
)

start_neo4j() {
    if bolt_ok; then
        log "neo4j: already answering Bolt on $HOST:$NEO4J_PORT, reusing it"
        return 0
    fi
    local pid
    if pid=$(our_pid neo4j); then
        log "neo4j: already starting (pid $pid), waiting for it"
        return 0
    fi
    port_open "$HOST" "$NEO4J_PORT" && die "neo4j: port $HOST:$NEO4J_PORT is taken by something that is not Neo4j"
    find_java
    build_lib neo4j "$ROOT/servers/neo4j/pom.xml" "$NEO4J_DIR/lib"
    mkdir -p "$NEO4J_DIR/home"
    rotate_log "$STATE/neo4j.log"
    log "neo4j: starting on bolt://$HOST:$NEO4J_PORT (heap $NEO4J_HEAP, page cache ${NEO4J_PAGECACHE_MB} MB)"
    LAUNCHED[neo4j]=$SECONDS
    (cd "$ROOT" && spawn "$STATE/neo4j.pid" "$STATE/neo4j.log" \
        "$JAVA_HOME_SVC/bin/java" "${NEO4J_JAVA_OPTS[@]}" -cp "$NEO4J_DIR/lib/*" \
        "$ROOT/servers/neo4j/Neo4jLauncher.java" "$NEO4J_DIR/home" "$HOST" "$NEO4J_PORT" "$NEO4J_PAGECACHE_MB") || exit 1
}

neo4j_ready() {
    # When we started it, also wait for the launcher's line (database 'neo4j' available).
    if [ -e "$STATE/neo4j.pid" ] && alive "$(pid_of neo4j)" Neo4jLauncher; then
        grep -q NEO4J_READY "$STATE/neo4j.log" 2>/dev/null || return 1
    fi
    bolt_ok
}

start_opensearch() {
    if os_ok; then
        log "opensearch: already answering on $HOST:$OS_PORT, reusing it"
        return 0
    fi
    local pid
    if pid=$(our_pid opensearch); then
        log "opensearch: already starting (pid $pid), waiting for it"
        return 0
    fi
    port_open "$HOST" "$OS_PORT" && die "opensearch: port $HOST:$OS_PORT is taken by something that does not answer like OpenSearch"
    find_java
    build_lib opensearch "$ROOT/servers/search/pom.xml" "$OS_DIR/lib"
    mkdir -p "$OS_DIR/home" "$OS_DIR/tmp"
    rotate_log "$STATE/opensearch.log"
    log "opensearch: starting on http://$HOST:$OS_PORT (heap $OS_HEAP)"
    LAUNCHED[opensearch]=$SECONDS
    (cd "$ROOT" && spawn "$STATE/opensearch.pid" "$STATE/opensearch.log" \
        "$JAVA_HOME_SVC/bin/java" "${OS_JAVA_OPTS[@]}" "-Djava.io.tmpdir=$OS_DIR/tmp" -cp "$OS_DIR/lib/*" \
        "$ROOT/servers/search/SearchLauncher.java" "$OS_DIR/home" "$HOST" "$OS_PORT" "$OS_TRANSPORT_PORT") || exit 1
}

stop_java() { # stop_java NAME (any process we spawned: TERM, then KILL after 60 s)
    local name=$1 pid
    pid=$(pid_of "$name") || { log "$name: not started by services.sh, leaving it alone"; return 0; }
    if ! alive "$pid" "$(pat_for "$name")"; then
        log "$name: not running (stale pid file)"
    else
        log "$name: stopping (pid $pid)"
        kill -TERM "$pid" 2>/dev/null
        if ! wait_gone "$pid" 60; then
            warn "$name: still running after 60 s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null
            wait_gone "$pid" 10 || warn "$name: pid $pid still running"
        fi
    fi
    rm -f "$STATE/$name.pid"
}

# ---------------------------------------------------------------------------------------------
# Elasticsearch: the real distribution (org.elasticsearch.distribution.integ-test-zip, the only
# full server build on Maven Central), started by its own bin/elasticsearch. It refuses to run as
# root, so as root it runs as the system user elasticsearch (created here if missing).
# ---------------------------------------------------------------------------------------------
ES_ZIP_BASE=https://repo1.maven.org/maven2/org/elasticsearch/distribution/integ-test-zip/elasticsearch
ES_CACHE=${SIXDEG_ES_CACHE:-$HOME/.m2/repository/org/elasticsearch/distribution/integ-test-zip/elasticsearch}
declare -A ES_ZIP_SHA256=(   # Central has no .sha1 (nor .pom) for the 9.x zips: ours
    [9.5.3]=bec49f3b8d00e75c8d1cec85c35298635ec9fbd3ae80ef5aeb6bc05abdb3db2d
)
ES_HOME_DIR="$ES_DIR/elasticsearch-$ES_VERSION"
ES_JAVA_OPTS_SVC="-Xms$ES_HEAP -Xmx$ES_HEAP -XX:-AlwaysPreTouch -XX:-HeapDumpOnOutOfMemoryError -Xlog:disable -Xlog:all=warning:stderr"
ES_SETTINGS=(
    -E cluster.name=sixdeg -E node.name=sixdeg-es -E discovery.type=single-node
    -E xpack.security.enabled=false -E network.host="$HOST" -E http.port="$ES_PORT"
    -E transport.port="$ES_TRANSPORT_PORT" -E cluster.routing.allocation.disk.threshold_enabled=false
    -E path.data="$ES_DIR/data-${ES_VERSION%%.*}" -E path.logs="$ES_DIR/logs"
)

java_feature() { # java_feature JDK_HOME: prints the feature version (17, 21, 25, ...)
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null
}

# ES 9.x needs Java 21+ (Temurin 25 preferred), ES 8.x Java 17+ (the services' JDK 17 preferred).
ES_JAVA_HOME_SVC=
find_es_java() {
    local min=21 j v cands=()
    [ "${ES_VERSION%%.*}" -ge 9 ] || { min=17; find_java; cands=("$JAVA_HOME_SVC"); }
    [ -n "${SIXDEG_ES_JAVA_HOME:-}" ] && cands=("$SIXDEG_ES_JAVA_HOME")
    cands+=(/usr/lib/jvm/temurin-25-jdk-* /usr/lib/jvm/*)
    for j in "${cands[@]}"; do
        [ -x "$j/bin/java" ] || continue
        v=$(java_feature "$j")
        if [ -n "$v" ] && [ "$v" -ge "$min" ]; then ES_JAVA_HOME_SVC=$j; return 0; fi
    done
    die "elasticsearch: $ES_VERSION needs a JDK $min or newer (none in /usr/lib/jvm; set SIXDEG_ES_JAVA_HOME)"
}

# Download the zip into the cache (~/.m2 by default) once, unpack it into var/services/elasticsearch.
es_dist() {
    [ -x "$ES_HOME_DIR/bin/elasticsearch" ] && return 0
    local zip="$ES_CACHE/$ES_VERSION/elasticsearch-$ES_VERSION.zip" url sum want
    url="$ES_ZIP_BASE/$ES_VERSION/elasticsearch-$ES_VERSION.zip"
    command -v unzip >/dev/null || ensure_packages unzip
    if [ ! -s "$zip" ]; then
        mkdir -p "$(dirname "$zip")"
        log "elasticsearch: downloading $url (about 130 MB, cached in $(dirname "$zip"))"
        curl -fsSL --retry 3 --connect-timeout 20 -m 1200 -o "$zip.part" "$url" \
            || { rm -f "$zip.part"; die "elasticsearch: download of $url failed"; }
        want=${ES_ZIP_SHA256[$ES_VERSION]:-}
        if [ -n "$want" ]; then
            sum=$(sha256sum "$zip.part" | cut -d' ' -f1)
        elif want=$(curl -fsS -m 30 "$url.sha1" 2>/dev/null | cut -c1-40) && [ -n "$want" ]; then
            sum=$(sha1sum "$zip.part" | cut -d' ' -f1)
        else
            warn "elasticsearch: no checksum known for $ES_VERSION, only testing the zip"
            unzip -tq "$zip.part" >/dev/null || { rm -f "$zip.part"; die "elasticsearch: $url is not a valid zip"; }
            sum=$want
        fi
        [ "$sum" = "$want" ] || { rm -f "$zip.part"; die "elasticsearch: checksum mismatch for $url ($sum, expected $want)"; }
        mv -f "$zip.part" "$zip"
    fi
    log "elasticsearch: unpacking $(basename "$zip") into $ES_HOME_DIR"
    mkdir -p "$ES_DIR"
    rm -rf "$ES_HOME_DIR.tmp"
    if ! unzip -q "$zip" -d "$ES_HOME_DIR.tmp" || [ ! -x "$ES_HOME_DIR.tmp/elasticsearch-$ES_VERSION/bin/elasticsearch" ]; then
        rm -rf "$ES_HOME_DIR.tmp" "$zip"
        die "elasticsearch: could not unpack $zip (removed it; the next start downloads it again)"
    fi
    mv "$ES_HOME_DIR.tmp/elasticsearch-$ES_VERSION" "$ES_HOME_DIR" && rm -rf "$ES_HOME_DIR.tmp"
}

es_user() { # the unprivileged system user that runs Elasticsearch when this script runs as root
    id -u "$ES_USER" >/dev/null 2>&1 && return 0
    log "elasticsearch: creating system user $ES_USER"
    useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$ES_USER" \
        || die "elasticsearch: useradd $ES_USER failed"
}

start_elasticsearch() {
    if es_ok; then
        log "elasticsearch: already answering on $HOST:$ES_PORT, reusing it"
        return 0
    fi
    local pid run_as=()
    if pid=$(our_pid elasticsearch); then
        log "elasticsearch: already starting (pid $pid), waiting for it"
        return 0
    fi
    port_open "$HOST" "$ES_PORT" && die "elasticsearch: port $HOST:$ES_PORT is taken by something that does not answer like Elasticsearch"
    port_open "$HOST" "$ES_TRANSPORT_PORT" && die "elasticsearch: transport port $HOST:$ES_TRANSPORT_PORT is taken"
    find_es_java
    es_dist
    local data="$ES_DIR/data-${ES_VERSION%%.*}"   # per major: an older major cannot read a newer one's data
    mkdir -p "$data" "$ES_DIR/logs" "$ES_DIR/tmp"
    # A fresh config dir from the distribution each launch (ES writes its keystore there).
    rm -rf "$ES_DIR/config" && cp -r "$ES_HOME_DIR/config" "$ES_DIR/config"
    if is_root; then
        es_user
        chown -R "$ES_USER:$ES_USER" "$ES_DIR/config" "$data" "$ES_DIR/logs" "$ES_DIR/tmp"
        run_as=(setpriv "--reuid=$ES_USER" "--regid=$ES_USER" --init-groups)
        "${run_as[@]}" test -x "$ES_HOME_DIR/bin/elasticsearch" \
            || die "elasticsearch: user $ES_USER cannot reach $ES_HOME_DIR (a parent directory is not world-searchable)"
    fi
    rotate_log "$STATE/elasticsearch.log"
    log "elasticsearch: starting $ES_VERSION on http://$HOST:$ES_PORT (heap $ES_HEAP, $(basename "$ES_JAVA_HOME_SVC"))"
    LAUNCHED[elasticsearch]=$SECONDS
    # Foreground in its own session; cwd = logs dir (the JVM's relative gc/hs_err/replay files).
    (cd "$ES_DIR/logs" || exit 1
        unset JAVA_HOME JAVA_TOOL_OPTIONS _JAVA_OPTIONS JAVA_OPTS
        export HOME=$ES_DIR ES_JAVA_HOME=$ES_JAVA_HOME_SVC ES_PATH_CONF=$ES_DIR/config ES_TMPDIR=$ES_DIR/tmp
        export ES_JAVA_OPTS=$ES_JAVA_OPTS_SVC
        spawn "$STATE/elasticsearch.pid" "$STATE/elasticsearch.log" \
            "${run_as[@]}" "$ES_HOME_DIR/bin/elasticsearch" "${ES_SETTINGS[@]}") || exit 1
}

# bin/elasticsearch runs a small launcher JVM (the recorded pid) that starts the server JVM as its
# child; SIGTERM to the launcher shuts the server down. Any server JVM of our distribution left
# over (launcher killed) is stopped too.
stop_elasticsearch() {
    local p
    [ -e "$STATE/elasticsearch.pid" ] || { stop_java elasticsearch; return 0; }
    stop_java elasticsearch
    for p in $(pgrep -f -- "$ES_DIR/elasticsearch-" 2>/dev/null); do
        warn "elasticsearch: server JVM $p outlived its launcher, sending SIGTERM"
        kill -TERM "$p" 2>/dev/null
        wait_gone "$p" 60 || { kill -KILL "$p" 2>/dev/null; wait_gone "$p" 10; }
    done
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
SERVICES="postgres rabbitmq redis neo4j opensearch elasticsearch"

ready() {
    case $1 in
        postgres) pg_ok ;;
        rabbitmq) rabbit_ready ;;
        redis) redis_ok ;;
        neo4j) neo4j_ready ;;
        opensearch) os_ok ;;
        elasticsearch) es_ok ;;
    esac
}

where() {
    case $1 in
        postgres) echo "postgresql://$PG_USER:$PG_PASSWORD@$HOST:$PG_PORT/sixdeg (also /sixdeg_test)" ;;
        rabbitmq)
            if [ "$RABBIT_MGMT" = 1 ]; then
                echo "amqp://guest:guest@$HOST:$AMQP_PORT/  management http://guest:guest@$HOST:$RABBIT_MGMT_PORT/api/"
            else
                echo "amqp://guest:guest@$HOST:$AMQP_PORT/"
            fi ;;
        redis) echo "redis://$HOST:$REDIS_PORT" ;;
        neo4j) echo "bolt://$HOST:$NEO4J_PORT (no auth)" ;;
        opensearch) echo "http://$HOST:$OS_PORT" ;;
        elasticsearch) echo "http://$HOST:$ES_PORT" ;;
    esac
}

show_log() { # show_log NAME REASON: error message plus the tail of the service's log(s)
    local name=$1 f
    printf '[services] ERROR: %s: %s\n' "$name" "$2" >&2
    f="$STATE/$name.log"
    [ -s "$f" ] && { printf -- '--- last lines of %s ---\n' "$f" >&2; tail -25 "$f" >&2; }
    case $name in
        postgres) [ -n "$PG_VERSION" ] && tail -15 "/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log" >&2 2>/dev/null ;;
        neo4j) [ -s "$NEO4J_DIR/home/logs/debug.log" ] && { printf -- '--- last lines of %s ---\n' "$NEO4J_DIR/home/logs/debug.log" >&2; tail -15 "$NEO4J_DIR/home/logs/debug.log" >&2; } ;;
    esac
    return 0
}
fail_with_log() { show_log "$@"; exit 1; }

# note_ready [SERVICE]: record when launched services (or SERVICE, known ready) first answer.
note_ready() {
    local s
    for s in ${1:-${!LAUNCHED[@]}}; do
        [ -z "${READY_AT[$s]:-}" ] || continue
        [ -n "${1:-}" ] || ready "$s" || continue
        if [ -n "${LAUNCHED[$s]:-}" ]; then
            READY_AT[$s]="answered $((SECONDS - LAUNCHED[$s])) s after launch"
        else
            READY_AT[$s]="reused"
        fi
    done
}

cmd_browser() { # Debian's Chromium for the browser tests (Playwright drives it; no browser download)
    mkdir -p "$STATE"
    command -v chromium >/dev/null || ensure_packages chromium
    log "chromium: $(command -v chromium)"
}

cmd_start() {
    mkdir -p "$STATE"
    local t0=$SECONDS s
    # Postgres and RabbitMQ first: they boot while Maven fills the lib dirs.
    start_postgres
    start_rabbitmq
    start_redis
    note_ready
    start_neo4j
    note_ready
    start_opensearch
    note_ready
    start_elasticsearch

    local deadline=$((SECONDS + TIMEOUT)) pending="$SERVICES" still pid pg_done=
    while :; do
        still=
        for s in $pending; do
            if [ -n "${READY_AT[$s]:-}" ] || ready "$s"; then
                [ -n "${READY_AT[$s]:-}" ] || note_ready "$s"
            else
                still="$still $s"
                # A process we started that died will never answer.
                if [ -e "$STATE/$s.pid" ] && [ "$s" != postgres ]; then
                    pid=$(pid_of "$s")
                    alive "$pid" || fail_with_log "$s" "process $pid exited before answering"
                fi
            fi
        done
        pending=$still
        if [ -z "$pg_done" ] && [ -n "${READY_AT[postgres]:-}" ]; then
            pg_find_cluster
            pg_provision || fail_with_log postgres "could not create role $PG_USER and databases $PG_DATABASES"
            pg_login_ok || fail_with_log postgres "password login as $PG_USER over TCP on $HOST:$PG_PORT fails"
            pg_done=1
        fi
        [ -z "$pending" ] && break
        if [ "$SECONDS" -ge "$deadline" ]; then
            for s in $pending; do
                show_log "$s" "does not answer after ${TIMEOUT} s"
            done
            die "not answering after ${TIMEOUT} s:$pending (bash servers/services.sh stop cleans up what was started)"
        fi
        sleep 1
    done

    for s in $SERVICES; do
        printf '[services] %-13s %s  (%s)\n' "$s" "$(where "$s")" "${READY_AT[$s]}"
    done
    log "all services up ($((SECONDS - t0)) s); stop with: bash servers/services.sh stop"
}

cmd_stop() {
    mkdir -p "$STATE"
    # Reverse order; each only if this script started it (pid file).
    stop_elasticsearch
    stop_java opensearch
    stop_java neo4j
    stop_java redis
    stop_rabbitmq
    stop_postgres
}

cmd_status() {
    local s pid owner bad=0
    for s in $SERVICES; do
        owner="not started by services.sh"
        if pid=$(our_pid "$s"); then owner="pid $pid, started by services.sh"; fi
        if ready "$s"; then
            printf '[services] %-13s up    %s  (%s)\n' "$s" "$(where "$s")" "$owner"
        else
            printf '[services] %-13s DOWN  %s\n' "$s" "$(where "$s")"
            bad=1
        fi
    done
    return $bad
}

case ${1:-} in
    start) cmd_start ;;
    browser) cmd_browser ;;
    stop) cmd_stop ;;
    restart) cmd_stop && cmd_start ;;
    status) cmd_status ;;
    *) echo "usage: $0 start|stop|restart|status|browser" >&2; exit 2 ;;
esac
