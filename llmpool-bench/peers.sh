#!/usr/bin/env bash
# llmpool side by side with the JVM's HTTP clients (issue 10). The one command:
#
#   llmpool-bench/peers.sh            full run (about 15 minutes on 2 cores; run it on a quiet machine)
#   llmpool-bench/peers.sh --quick    smoke run: seconds per client, proves the harness end to end
#
# It installs nginx (and h2load, openssl) from Debian when missing, writes an nginx config and a
# self-signed certificate into a temporary directory, starts ONE nginx worker on 127.0.0.1
# (HTTP/1.1, TLS 1.3 + ALPN h2, h2c), checks it, runs every client in its own JVM
# (dev.llmpool.bench.peers.PeerBench), and stops nginx (also on Ctrl-C). Results: results.json,
# results.csv, results.md and charts in --out. --publish copies them into docs/benchmarks.md and
# docs/. See docs/benchmarks.md, "Side by side with the JVM's HTTP clients".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CLIENTS=all
PROTOCOLS=h1,h2,h2c
CONCURRENCY=1,16,64,256
WARMUP=10
SETTLE=1
MEASURE=4
STREAM_SETTLE=0.5
STREAM_MEASURE=3
STREAM_CONCURRENCY=16
STREAM_MODES=paced,burst
PHASES=matrix,stream,memory
MEMORY_CONNECTIONS=1000
MEMORY_PORTS=100
GAP_MS=2
H2LOAD=yes
BUILD=yes
PUBLISH=no
KEEP=no
PIN=no
LABEL="full run"
OUT=""
HOST=127.0.0.1
H1_PORT=${PEERS_H1_PORT:-28080}
TLS_PORT=${PEERS_TLS_PORT:-28443}
H2C_PORT=${PEERS_H2C_PORT:-28082}
MEMORY_BASE_PORT=${PEERS_MEMORY_BASE_PORT:-28500}
JAVA="${PEERS_JAVA:-java}"
# Every client JVM gets exactly these flags. The heap is fixed and pre-touched so that the memory
# probe's RSS growth is native memory only.
JVM_FLAGS="${PEERS_JVM_FLAGS:--Xms1g -Xmx1g -XX:+UseG1GC -XX:+AlwaysPreTouch}"

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  cat <<EOF

Options (defaults in brackets):
  --quick                 smoke run: 2 s warm-up, 0.3 s settle + 1 s per cell, c=1,64, 2.5 s per stream cell,
                          200 idle connections, 20 TLS origins
  --clients=a,b           llmpool, jdk, okhttp, jetty, apache, apache-mux, reactor, reactor-strict [all]
  --protocols=h1,h2,h2c   [$PROTOCOLS]
  --concurrency=LIST      [$CONCURRENCY]
  --warmup=S              JIT warm-up per JVM, seconds [$WARMUP]
  --settle=S --measure=S  per cell: unmeasured settle, then measured window [$SETTLE, $MEASURE]
  --stream-measure=S      per streaming cell [$STREAM_MEASURE]
  --phases=LIST           matrix, stream, memory [$PHASES]
  --memory-connections=N  idle HTTP/1.1 connections the memory probe opens [$MEMORY_CONNECTIONS]
  --gap-ms=N              gap between paced SSE tokens [$GAP_MS]
  --no-h2load             skip the C reference
  --no-build              use the classes already built
  --out=DIR               [llmpool-bench/target/peers/<date>]
  --label=TEXT            how the results call this run ["full run"; --quick: "smoke run"]
  --publish               write the results into docs/benchmarks.md and the charts into docs/
  --keep                  keep nginx's temporary directory (config, logs)
  --pin                   nginx on CPU 0, every client JVM and h2load on the other CPUs (taskset); the
                          clients then see fewer CPUs and size their thread pools by it. Off by default:
                          it did not make runs repeat (see docs/benchmarks.md)
Environment: PEERS_JAVA (java binary), PEERS_JVM_FLAGS ["$JVM_FLAGS"], PEERS_*_PORT.
EOF
}

for arg in "$@"; do
  case "$arg" in
    --quick)
      WARMUP=2 SETTLE=0.3 MEASURE=1 STREAM_SETTLE=0.2 STREAM_MEASURE=2.5 CONCURRENCY=1,64
      MEMORY_CONNECTIONS=200 MEMORY_PORTS=20 LABEL="smoke run (--quick)" ;;
    --clients=*) CLIENTS="${arg#*=}" ;;
    --protocols=*) PROTOCOLS="${arg#*=}" ;;
    --concurrency=*) CONCURRENCY="${arg#*=}" ;;
    --warmup=*) WARMUP="${arg#*=}" ;;
    --settle=*) SETTLE="${arg#*=}" ;;
    --measure=*) MEASURE="${arg#*=}" ;;
    --stream-measure=*) STREAM_MEASURE="${arg#*=}" ;;
    --phases=*) PHASES="${arg#*=}" ;;
    --memory-connections=*) MEMORY_CONNECTIONS="${arg#*=}" ;;
    --gap-ms=*) GAP_MS="${arg#*=}" ;;
    --no-h2load) H2LOAD=no ;;
    --no-build) BUILD=no ;;
    --out=*) OUT="${arg#*=}" ;;
    --label=*) LABEL="${arg#*=}" ;;
    --publish) PUBLISH=yes ;;
    --keep) KEEP=yes ;;
    --pin) PIN=yes ;;
    -h|--help) usage; exit 0 ;;
    *) echo "peers.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
[[ -n "$OUT" ]] || OUT="llmpool-bench/target/peers/$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

say() { printf '\n== %s\n' "$*"; }

# 1. Tools, from Debian when missing: nginx-light brings the echo module the paced stream needs.
ECHO_MODULE=/usr/lib/nginx/modules/ngx_http_echo_module.so
missing=()
command -v nginx >/dev/null || missing+=(nginx-light)
[[ -f "$ECHO_MODULE" ]] || missing+=(libnginx-mod-http-echo)
command -v openssl >/dev/null || missing+=(openssl)
command -v h2load >/dev/null || missing+=(nghttp2-client)
command -v curl >/dev/null || missing+=(curl)
fc-list 2>/dev/null | grep -q . || missing+=(fontconfig fonts-dejavu-core) # chart text
if ((${#missing[@]})); then
  say "installing ${missing[*]} from Debian"
  SUDO=""; [[ $(id -u) == 0 ]] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. The harness, built with the reactor (never installed into ~/.m2).
CP_FILE=llmpool-bench/target/peers.classpath
if [[ $BUILD == yes || ! -f $CP_FILE ]]; then
  say "building llmpool-bench"
  mvn -B -q -DskipTests -Dnoerrorprone -pl llmpool-bench -am package dependency:build-classpath \
    -Dmdep.outputFile=target/peers.classpath -Dmdep.includeScope=runtime
fi
CP="$ROOT/llmpool-bench/target/classes:$(cat "$CP_FILE")"

# 3. nginx's directory: config, certificate, answers, logs.
WORK="$(mktemp -d /tmp/llmpool-peers.XXXXXX)"
chmod 755 "$WORK" # nginx's worker runs as an unprivileged user and reads the answers here
mkdir -p "$WORK/tmp"
NGINX_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$NGINX_PID" ]] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -QUIT "$NGINX_PID" 2>/dev/null || true # graceful stop of the master we started
    for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$NGINX_PID" 2>/dev/null || true
  fi
  if [[ $KEEP == yes ]]; then echo "nginx directory kept: $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=llmpool-bench" -addext "subjectAltName=IP:$HOST,DNS:localhost" \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
"$JAVA" -cp "$CP" dev.llmpool.bench.peers.PeerBench files --dir="$WORK" --gap-ms="$GAP_MS"
: >"$WORK/memory-listens.conf"
for ((i = 0; i < MEMORY_PORTS; i++)); do
  echo "listen $HOST:$((MEMORY_BASE_PORT + i)) ssl http2;" >>"$WORK/memory-listens.conf"
done
# nginx serves the chat answer with `return`, from memory (the JSON holds no quote, backslash or $).
grep -q "['\\\\\$]" "$WORK/chat.json" && { echo "chat.json cannot go into an nginx return" >&2; exit 1; }
nl=""; [[ $(tail -c 1 "$WORK/chat.json" | od -An -c) == *'\n'* ]] && nl='\n' # nginx reads \n in quotes
printf "return 200 '%s%s';\n" "$(cat "$WORK/chat.json")" "$nl" >"$WORK/chat.return"
sed -e "s#@DIR@#$WORK#g" -e "s#@HOST@#$HOST#g" -e "s#@H1_PORT@#$H1_PORT#g" \
  -e "s#@TLS_PORT@#$TLS_PORT#g" -e "s#@H2C_PORT@#$H2C_PORT#g" -e "s#@ECHO_MODULE@#$ECHO_MODULE#g" \
  llmpool-bench/peers/nginx.conf.template >"$WORK/nginx.conf"

# 4. One nginx worker; the clients' 1,000 idle connections need the file limit raised.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
say "starting nginx $(nginx -v 2>&1 | sed 's#.*/##') on $HOST:$H1_PORT (HTTP/1.1), :$TLS_PORT (TLS 1.3, h2), :$H2C_PORT (h2c)"
CPUS=$(nproc --all)
# Kernel threads that take CPU in bursts skew latency tails for every client alike; say so up front
# (the "other CPU %" column shows, per cell, what neither the client nor nginx used).
for d in /sys/kernel/mm/damon/admin/kdamonds/*/; do
  if [[ -r $d/state && $(cat "$d/state") == on ]]; then
    echo "note: DAMON ($d) is on: its kdamond thread runs in bursts (see docs/benchmarks.md, 'other CPU %')"
  fi
done
SERVER_CPUS="" CLIENT_CPUS="" PLACEMENT=""
if [[ $PIN == yes && $CPUS -ge 2 ]] && command -v taskset >/dev/null; then
  SERVER_CPUS=0 CLIENT_CPUS=1
  ((CPUS > 2)) && CLIENT_CPUS="1-$((CPUS - 1))"
  PLACEMENT="; nginx pinned to CPU 0, every client JVM and h2load to CPU $CLIENT_CPUS (taskset)"
fi
pinned() { # pinned CPUS COMMAND...: COMMAND on those CPUs when pinning, as is otherwise
  local cpus=$1; shift
  if [[ -n $cpus ]]; then taskset -c "$cpus" "$@"; else "$@"; fi
}
if [[ -n $SERVER_CPUS ]]; then # taskset execs nginx: $! is nginx's master
  taskset -c "$SERVER_CPUS" nginx -p "$WORK" -c "$WORK/nginx.conf" &
else
  nginx -p "$WORK" -c "$WORK/nginx.conf" &
fi
NGINX_PID=$!
for _ in $(seq 100); do # nginx writes its pid file once every listener is bound
  kill -0 "$NGINX_PID" 2>/dev/null || { echo "nginx did not start (a port in use? set PEERS_*_PORT)" >&2; exit 1; }
  [[ -s "$WORK/nginx.pid" ]] && break
  sleep 0.05
done
[[ -s "$WORK/nginx.pid" ]] || { echo "nginx did not start in 5 s" >&2; exit 1; }

# 5. Check the server: answers, certificate trusted by its CA file, body read before the answer.
AUTH="authorization: Bearer sk-bench-0000000000000000000000000000000000000000"
len=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -H "$AUTH" \
  -H 'content-type: application/json' --data-binary "@$WORK/request.json" \
  "http://$HOST:$H1_PORT/v1/chat/completions")
[[ $len == "200 $(stat -c %s "$WORK/chat.json")" ]] || { echo "HTTP/1.1 check failed: $len" >&2; exit 1; }
curl -s --fail -o /dev/null --cacert "$WORK/cert.pem" "https://$HOST:$TLS_PORT/v1/chat/completions" \
  --data-binary "@$WORK/request.json" || { echo "TLS check (certificate, answer) failed" >&2; exit 1; }
for url in "https://$HOST:$TLS_PORT/v1/chat/completions" "http://$HOST:$H2C_PORT/v1/chat/completions" \
  "https://$HOST:$TLS_PORT/v1/paced/chat/completions"; do
  trace=$(nghttp -v -d "$WORK/request.json" -H "$AUTH" "$url" 2>&1)
  grep -q ':status: 200' <<<"$trace" || { echo "h2 check failed for $url:" >&2; echo "$trace" | tail -20 >&2; exit 1; }
  if grep -q 'recv RST_STREAM' <<<"$trace"; then
    echo "nginx reset an HTTP/2 stream after answering $url (it must read the body first):" >&2
    grep RST_STREAM <<<"$trace" >&2
    exit 1
  fi
done
echo "nginx answers 200 on all three listeners; no HTTP/2 stream is reset after its answer"
WORKER_PID=$(pgrep -P "$NGINX_PID" | head -1)
worker_cpu() { awk '{print $14 + $15}' "/proc/$WORKER_PID/stat"; }
CPU_BEFORE=$(worker_cpu)

# 6. The run.
H2LOAD_BIN=""
[[ $H2LOAD == yes ]] && H2LOAD_BIN="$(command -v h2load || true)"
COMMAND="llmpool-bench/peers.sh${*:+ $*}"
say "running: clients=$CLIENTS protocols=$PROTOCOLS concurrency=$CONCURRENCY phases=$PHASES"
pinned "$CLIENT_CPUS" "$JAVA" -Djava.awt.headless=true -cp "$CP" dev.llmpool.bench.peers.PeerBench run \
  --dir="$WORK" --out="$OUT" --java="$JAVA" --classpath="$CP" --jvm-flags="$JVM_FLAGS" \
  --clients="$CLIENTS" --protocols="$PROTOCOLS" --concurrency="$CONCURRENCY" \
  --warmup="$WARMUP" --settle="$SETTLE" --measure="$MEASURE" \
  --stream-settle="$STREAM_SETTLE" --stream-measure="$STREAM_MEASURE" \
  --stream-concurrency="$STREAM_CONCURRENCY" --stream-modes="$STREAM_MODES" \
  --phases="$PHASES" --memory-connections="$MEMORY_CONNECTIONS" \
  --host="$HOST" --h1-port="$H1_PORT" --tls-port="$TLS_PORT" --h2c-port="$H2C_PORT" \
  --ca="$WORK/cert.pem" --memory-base-port="$MEMORY_BASE_PORT" --memory-ports="$MEMORY_PORTS" \
  --nginx-master="$NGINX_PID" --clk-tck="$(getconf CLK_TCK)" --gap-ms="$GAP_MS" \
  --nginx-version="$(nginx -v 2>&1 | sed 's#.*: ##')" --h2load="$H2LOAD_BIN" \
  --label="$LABEL" --command="$COMMAND" --cpus="$CPUS" --placement="$PLACEMENT"
CPU_AFTER=$(worker_cpu)
echo "nginx worker CPU over the whole run: $(((CPU_AFTER - CPU_BEFORE) * 1000 / $(getconf CLK_TCK))) ms" \
  "(per request: the 'nginx CPU µs/req' column)"
[[ -s "$WORK/error.log" ]] && { echo "nginx error.log:"; tail -5 "$WORK/error.log"; }

# 7. Publish into the docs: the block between the markers in docs/benchmarks.md.
if [[ $PUBLISH == yes ]]; then
  cp "$OUT"/peers-*.png docs/ 2>/dev/null || true
  awk -v results="$OUT/results.md" '
    /<!-- peers:results:start -->/ { print; while ((getline line < results) > 0) print line; skip = 1; next }
    /<!-- peers:results:end -->/ { skip = 0 }
    !skip' docs/benchmarks.md >"$WORK/benchmarks.md"
  cp "$WORK/benchmarks.md" docs/benchmarks.md
  echo "published into docs/benchmarks.md and docs/peers-*.png"
fi
echo "results: $OUT/results.md (JSON: results.json, CSV: results.csv)"
