#!/usr/bin/env bash
# The seed's cluster in one command: CA and certificates, two identity nodes with
# a jvmRoute, and httpd with mod_ssl and mod_isbalancer in front.
#
#   scripts/demo.sh [start]   install what is missing, build, start, self-check
#   scripts/demo.sh status    what runs
#   scripts/demo.sh stop      stop everything it started, by PID
#
# Runs a private httpd from a generated ServerRoot on high ports; the system's
# apache2 is left alone. Ports: ISB_FRONT_PORT (8443), ISB_NODE1_PORT (9443),
# ISB_NODE2_PORT (9444). State lives in ISB_DEMO_DIR (/tmp/isbalancer-demo).
#
# The nodes in this version are lightweight HTTPS backends that behave like
# Tomcat with a jvmRoute (they issue JSESSIONID=<id>.isNode1); the script says so.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
DEMO=${ISB_DEMO_DIR:-/tmp/isbalancer-demo}
FRONT=${ISB_FRONT_PORT:-8443}
NODE1=${ISB_NODE1_PORT:-9443}
NODE2=${ISB_NODE2_PORT:-9444}
HTTPD=/usr/sbin/apache2
MODS=/usr/lib/apache2/modules

say() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_all() {
  for f in "$DEMO"/httpd.pid "$DEMO"/node1.pid "$DEMO"/node2.pid; do
    if pid_alive "$f"; then
      local pid
      pid=$(cat "$f")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      say "stopped $(basename "$f" .pid) (pid $pid)"
    fi
    rm -f "$f"
  done
}

status() {
  local any=0
  for n in httpd node1 node2; do
    if pid_alive "$DEMO/$n.pid"; then say "$n runs (pid $(cat "$DEMO/$n.pid"))"; any=1
    else say "$n is not running"; fi
  done
  return $((1 - any))
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fail_with_logs() {
  say "$1"
  for f in "$DEMO"/error.log "$DEMO"/node1.log "$DEMO"/node2.log; do
    [ -s "$f" ] && { echo "--- last lines of $f"; tail -n 15 "$f"; }
  done
  stop_all
  exit 1
}

start() {
  if pid_alive "$DEMO/httpd.pid"; then die "already running; 'scripts/demo.sh stop' first"; fi
  for p in "$FRONT" "$NODE1" "$NODE2"; do
    port_free "$p" || die "port $p on 127.0.0.1 is taken. Choose others, e.g. ISB_FRONT_PORT=18443 ISB_NODE1_PORT=19443 ISB_NODE2_PORT=19444 scripts/demo.sh"
  done
  bash scripts/deps.sh
  bash scripts/build.sh -DCMAKE_BUILD_TYPE=Release >/dev/null
  mkdir -p "$DEMO"
  chmod 755 "$DEMO"
  bash scripts/make-certs.sh "$DEMO/certs"
  : >"$DEMO/error.log"

  say "starting two identity nodes (builtin HTTPS backends standing in for WSO2 IS / Tomcat)"
  for i in 1 2; do
    port=$([ $i = 1 ] && echo "$NODE1" || echo "$NODE2")
    setsid /usr/bin/python3 "$REPO/tests/integration/backend.py" --port "$port" --name "isNode$i" \
      --route "isNode$i" --cert "$DEMO/certs/server.crt" --key "$DEMO/certs/server.key" \
      >"$DEMO/node$i.log" 2>&1 &
    echo $! >"$DEMO/node$i.pid"
  done
  for port in "$NODE1" "$NODE2"; do
    for _ in $(seq 100); do port_free "$port" || break; sleep 0.1; done
    port_free "$port" && fail_with_logs "node on port $port did not come up within 10 s"
  done

  cat >"$DEMO/httpd.conf" <<CONF
ServerRoot "$DEMO"
ServerName localhost
Listen 127.0.0.1:$FRONT
PidFile "$DEMO/httpd.pid"
DefaultRuntimeDir "$DEMO"
ErrorLog "$DEMO/error.log"
LogLevel warn
User www-data
Group www-data
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule isbalancer_module $REPO/build/mod_isbalancer.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule authz_host_module $MODS/mod_authz_host.so
LoadModule proxy_module $MODS/mod_proxy.so
LoadModule proxy_http_module $MODS/mod_proxy_http.so
LoadModule socache_shmcb_module $MODS/mod_socache_shmcb.so
LoadModule ssl_module $MODS/mod_ssl.so
LogFormat "%h %t \"%r\" %>s member=%{BALANCER_WORKER_ROUTE}e session_route=%{BALANCER_SESSION_ROUTE}e" demo
CustomLog "$DEMO/access.log" demo
SSLSessionCache "shmcb:$DEMO/sslcache(512000)"
Define ISB_FRONT_PORT $FRONT
Define ISB_CERT_DIR $DEMO/certs
Define ISB_NODE1 https://localhost:$NODE1
Define ISB_NODE2 https://localhost:$NODE2
Include "$REPO/conf/examples/wso2-is.conf"
CONF
  "$HTTPD" -d "$DEMO" -f "$DEMO/httpd.conf" -k start || fail_with_logs "httpd did not start"
  for _ in $(seq 100); do
    curl -s -o /dev/null --cacert "$DEMO/certs/ca.crt" "https://localhost:$FRONT/" && break
    sleep 0.1
  done
  self_check || fail_with_logs "self-check failed"
  cat <<TXT

The cluster runs:
  front (TLS, mod_isbalancer)   https://localhost:$FRONT/
  node isNode1 (HTTPS)          https://localhost:$NODE1/
  node isNode2 (HTTPS)          https://localhost:$NODE2/
  CA certificate                $DEMO/certs/ca.crt

Try:
  curl --cacert $DEMO/certs/ca.crt -c /tmp/jar -b /tmp/jar https://localhost:$FRONT/app
        (repeat it: same node, the session counter goes up)
  curl --cacert $DEMO/certs/ca.crt https://localhost:$FRONT/app    (new sessions alternate)
  kill \$(cat $DEMO/node1.pid)     (failover: everything goes to isNode2)
  tail $DEMO/access.log             (member and session route of each request)
  scripts/demo.sh status | stop
TXT
}

self_check() {
  local ca="$DEMO/certs/ca.crt" url="https://localhost:$FRONT/app" jar="$DEMO/jar"
  local nodes="" out node
  for _ in 1 2 3 4; do
    out=$(curl -sS --cacert "$ca" "$url") || return 1
    nodes+="$(sed -n 's/^backend=//p' <<<"$out") "
  done
  case "$nodes" in *isNode1*isNode2*|*isNode2*isNode1*) say "new sessions spread: $nodes";;
    *) say "new sessions did not spread over both nodes: $nodes"; return 1;; esac
  rm -f "$jar"
  out=$(curl -sS --cacert "$ca" -c "$jar" -b "$jar" "$url") || return 1
  node=$(sed -n 's/^backend=//p' <<<"$out")
  for want in 2 3 4; do
    out=$(curl -sS --cacert "$ca" -c "$jar" -b "$jar" "$url") || return 1
    [ "$(sed -n 's/^backend=//p' <<<"$out")" = "$node" ] || { say "session left $node"; return 1; }
    [ "$(sed -n 's/^count=//p' <<<"$out")" = "$want" ] || { say "session counter is not $want"; return 1; }
  done
  say "a session stays on its node: $node, counter 1 2 3 4"
}

case "${1:-start}" in
  start) start ;;
  stop) stop_all ;;
  status) status ;;
  *) die "usage: scripts/demo.sh [start|status|stop]" ;;
esac
