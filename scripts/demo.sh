#!/usr/bin/env bash
# The seed's cluster in one command: CA and certificates, two identity nodes with
# a jvmRoute, and httpd with mod_ssl and mod_isbalancer in front.
#
#   scripts/demo.sh [start] [--nodes tomcat|builtin]
#                             install what is missing, build, start, self-check
#   scripts/demo.sh start --system [--nodes ...]
#                             the real user flow instead of a private httpd:
#                             install the module, a2enmod isbalancer, install and
#                             a2ensite the seed's site, restart the system apache2;
#                             it lists what it changed and how to undo it
#   scripts/demo.sh undo-system
#                             revert everything --system changed
#   scripts/demo.sh status    what runs
#   scripts/demo.sh stop      stop everything it started, by PID
#   scripts/demo.sh stop-node N | start-node N
#                             stop or start identity node N (1 or 2) to watch
#                             failover and recovery
#
# By default it runs a private httpd from a generated ServerRoot on high ports and
# leaves the system's apache2 alone. Ports: ISB_FRONT_PORT (8443; 443 with
# --system), ISB_NODE1_PORT (9443), ISB_NODE2_PORT (9444). State lives in
# ISB_DEMO_DIR (/tmp/isbalancer-demo). --system works on APACHE_CONFDIR
# (/etc/apache2) and installs the module into ISB_MODULE_DIR (apxs LIBEXECDIR).
#
# The nodes are two Tomcat 10 instances from Debian's tomcat10, each its own
# CATALINA_BASE with an HTTPS connector and -DjvmRoute=isNodeN. If Tomcat cannot
# be installed, or with --nodes builtin, lightweight HTTPS backends that issue
# JSESSIONID=<id>.isNodeN stand in, and the script says so.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
DEMO=${ISB_DEMO_DIR:-/tmp/isbalancer-demo}
FRONT=${ISB_FRONT_PORT:-}
NODE1=${ISB_NODE1_PORT:-9443}
NODE2=${ISB_NODE2_PORT:-9444}
HTTPD=/usr/sbin/apache2
MODS=/usr/lib/apache2/modules
CATALINA_HOME=${CATALINA_HOME:-/usr/share/tomcat10}

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
  local logs=("$DEMO"/error.log "$DEMO"/node1.log "$DEMO"/node2.log)
  [ -n "$SYSTEM" ] && logs+=("$(. "$CONFDIR/envvars" && echo "$APACHE_LOG_DIR")/error.log")
  for f in "${logs[@]}"; do
    [ -s "$f" ] && { echo "--- last lines of $f"; tail -n 15 "$f"; }
  done
  stop_all
  # A failed --system start takes back what it changed.
  if [ -n "$SYSTEM" ] && [ -s "$DEMO/system-changes" ]; then undo_system || true; fi
  exit 1
}

node_port() { [ "$1" = 1 ] && echo "$NODE1" || echo "$NODE2"; }

have_tomcat() { [ -x "$CATALINA_HOME/bin/catalina.sh" ] && command -v java >/dev/null; }

# Node N as its own Tomcat CATALINA_BASE: HTTPS connector, jvmRoute from
# -DjvmRoute (as the seed sets it), and the demo webapp.
make_tomcat_base() {
  local i=$1 base="$DEMO/node$1"
  mkdir -p "$base"/{conf,lib,logs,webapps/ROOT,work,temp}
  cp /etc/tomcat10/{catalina.properties,logging.properties,web.xml,context.xml} "$base/conf/"
  ln -sf /usr/share/java/eclipse-jdt-core.jar "$base/lib/ecj.jar"  # the JSP compiler
  sed -e "s|@PORT@|$(node_port "$i")|" -e "s|@CERT_DIR@|$DEMO/certs|" \
    "$REPO/conf/examples/tomcat/server.xml" >"$base/conf/server.xml"
  cp "$REPO/conf/examples/tomcat/index.jsp" "$base/webapps/ROOT/index.jsp"
}

start_node() {
  local i=$1 port nodes
  port=$(node_port "$i")
  nodes=$(cat "$DEMO/nodes")
  pid_alive "$DEMO/node$i.pid" && { say "node $i already runs"; return 0; }
  port_free "$port" || node_failed "port $port for node $i is taken; choose another with ISB_NODE${i}_PORT"
  if [ "$nodes" = tomcat ]; then
    make_tomcat_base "$i"
    say "starting node $i: Tomcat 10, jvmRoute isNode$i, https://localhost:$port/"
    setsid env CATALINA_HOME="$CATALINA_HOME" CATALINA_BASE="$DEMO/node$i" \
      JAVA_OPTS="-DjvmRoute=isNode$i -Xmx256m -Djava.security.egd=file:/dev/./urandom" \
      "$CATALINA_HOME/bin/catalina.sh" run >"$DEMO/node$i.log" 2>&1 &
  else
    say "starting node $i: builtin HTTPS backend standing in for WSO2 IS, route isNode$i"
    setsid /usr/bin/python3 "$REPO/tests/integration/backend.py" --port "$port" \
      --name "isNode$i" --route "isNode$i" --cert "$DEMO/certs/server.crt" \
      --key "$DEMO/certs/server.key" >"$DEMO/node$i.log" 2>&1 &
  fi
  echo $! >"$DEMO/node$i.pid"
  for _ in $(seq 300); do
    curl -s -o /dev/null --cacert "$DEMO/certs/ca.crt" "https://localhost:$port/" && return 0
    pid_alive "$DEMO/node$i.pid" || break
    sleep 0.2
  done
  node_failed "node $i did not answer on port $port within 60 s"
}

# During a full start a failed node stops everything; alone, it stops only itself.
node_failed() {
  [ -n "${STARTING:-}" ] && fail_with_logs "$1"
  say "$1"
  [ -s "$DEMO/node$i.log" ] && tail -n 15 "$DEMO/node$i.log"
  stop_node "$i"
  exit 1
}

stop_node() {
  local f="$DEMO/node$1.pid" pid
  pid_alive "$f" || { say "node $1 is not running"; return 0; }
  pid=$(cat "$f")
  kill "$pid"
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$f"
  say "stopped node $1 (pid $pid)"
}

start() {
  if pid_alive "$DEMO/httpd.pid"; then die "already running; 'scripts/demo.sh stop' first"; fi
  if [ -n "$SYSTEM" ] && [ -s "$DEMO/system-changes" ]; then
    die "a --system install is in place ($DEMO/system-changes); 'scripts/demo.sh undo-system' first"
  fi
  local ports=("$NODE1" "$NODE2")
  # With --system the front port may well be the system apache2's own.
  [ -n "$SYSTEM" ] || ports+=("$FRONT")
  for p in "${ports[@]}"; do
    port_free "$p" || die "port $p on 127.0.0.1 is taken. Choose others, e.g. ISB_FRONT_PORT=18443 ISB_NODE1_PORT=19443 ISB_NODE2_PORT=19444 scripts/demo.sh"
  done
  bash scripts/deps.sh
  if [ "$NODES" = tomcat ] && ! have_tomcat; then
    say "Tomcat 10 is not available: using builtin HTTPS nodes instead (--nodes builtin)"
    NODES=builtin
  fi
  bash scripts/build.sh -DCMAKE_BUILD_TYPE=Release >/dev/null
  mkdir -p "$DEMO"
  chmod 755 "$DEMO"
  CERTS=$DEMO/certs
  CERTS_EXISTED=
  if [ -n "$SYSTEM" ]; then
    CERTS=$CONFDIR/isbalancer-certs
    [ -e "$CERTS" ] && CERTS_EXISTED=1
    [ -L "$DEMO/certs" ] || rm -rf "$DEMO/certs"
    ln -sfn "$CERTS" "$DEMO/certs"
  fi
  bash scripts/make-certs.sh "$CERTS"
  : >"$DEMO/error.log"

  echo "$NODES" >"$DEMO/nodes"
  STARTING=1
  for i in 1 2; do start_node "$i"; done
  if [ -n "$SYSTEM" ]; then
    start_system_front
  else
    start_private_front
  fi
  self_check || fail_with_logs "self-check failed"
  print_next_steps
}

start_private_front() {
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
  wait_for_front
}

wait_for_front() {
  for _ in $(seq 100); do
    curl -s -o /dev/null --cacert "$DEMO/certs/ca.crt" "https://localhost:$FRONT/" && return 0
    sleep 0.1
  done
}

# --system: what a user does by hand, recorded in $DEMO/system-changes so that
# undo-system can revert exactly that.
start_system_front() {
  local changes="$DEMO/system-changes" site=isbalancer-wso2-is m
  : >"$changes"
  local moddir=${ISB_MODULE_DIR:-$(apxs -q LIBEXECDIR)}
  BUILD_DIR=build-system bash scripts/build.sh -DCMAKE_BUILD_TYPE=Release -DISB_BUILD_TESTS=OFF \
    -DISB_MODULE_DIR="$moddir" -DISB_MODS_AVAILABLE="$CONFDIR/mods-available" >/dev/null
  cmake --install build-system >/dev/null
  while read -r f; do echo "file $f" >>"$changes"; say "installed $f"; done <build-system/install_manifest.txt
  if [ -z "$CERTS_EXISTED" ]; then
    echo "dir $CONFDIR/isbalancer-certs" >>"$changes"
    say "made certificates in $CONFDIR/isbalancer-certs"
  fi
  # The stock modules go first (the lbmethods depend on proxy_balancer).
  for m in lbmethod_heartbeat lbmethod_bytraffic lbmethod_bybusyness lbmethod_byrequests proxy_balancer; do
    if [ -e "$CONFDIR/mods-enabled/$m.load" ]; then
      a2dismod -q "$m" >/dev/null
      echo "dismod $m" >>"$changes"
      say "a2dismod $m"
    fi
  done
  for m in isbalancer ssl; do
    if [ ! -e "$CONFDIR/mods-enabled/$m.load" ]; then
      a2enmod -q "$m" >/dev/null
      echo "enmod $m" >>"$changes"
      say "a2enmod $m (with its dependencies)"
    fi
  done
  {
    echo "# Installed by mod_isbalancer's scripts/demo.sh --system; undo: scripts/demo.sh undo-system"
    [ "$FRONT" = 443 ] || echo "Listen ${ISB_FRONT_LISTEN:-$FRONT}"
    echo "Define ISB_FRONT_PORT $FRONT"
    echo "Define ISB_CERT_DIR $CONFDIR/isbalancer-certs"
    echo "Define ISB_NODE1 https://localhost:$NODE1"
    echo "Define ISB_NODE2 https://localhost:$NODE2"
    cat "$REPO/conf/examples/wso2-is.conf"
  } >"$CONFDIR/sites-available/$site.conf"
  echo "file $CONFDIR/sites-available/$site.conf" >>"$changes"
  a2ensite -q "$site" >/dev/null
  echo "ensite $site" >>"$changes"
  say "installed and enabled site $CONFDIR/sites-available/$site.conf (a2ensite $site)"
  restart_system_apache || fail_with_logs "apache2 did not restart; see above"
  wait_for_front
}

# The system's apache2: through systemd for the real /etc/apache2, directly (as
# apache2ctl does without systemd) for any other APACHE_CONFDIR.
restart_system_apache() {
  if [ "$CONFDIR" = /etc/apache2 ] && [ -d /run/systemd/system ]; then
    say "systemctl restart apache2"
    systemctl restart apache2
  else
    say "apache2 -d $CONFDIR -k restart"
    (. "$CONFDIR/envvars" && mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR" &&
      "$HTTPD" -d "$CONFDIR" -t && "$HTTPD" -d "$CONFDIR" -k restart)
  fi
}

undo_system() {
  local changes="$DEMO/system-changes" kind what
  [ -s "$changes" ] || die "nothing to undo: no $changes"
  for i in 1 2; do stop_node "$i"; done
  tac "$changes" | while read -r kind what; do
    case "$kind" in
      ensite) a2dissite -q "$what" >/dev/null; say "a2dissite $what" ;;
      enmod) a2dismod -q -f "$what" >/dev/null; say "a2dismod $what" ;;
      dismod) a2enmod -q "$what" >/dev/null; say "a2enmod $what (was enabled before)" ;;
      file) rm -f "$what"; say "removed $what" ;;
      dir) rm -rf "$what"; say "removed $what" ;;
    esac
  done
  rm -f "$changes"
  restart_system_apache
}

print_next_steps() {
  if [ -n "$SYSTEM" ]; then
    say "changed the system's apache2 in $CONFDIR (listed above); undo all of it with: scripts/demo.sh undo-system"
  fi
  cat <<TXT

The cluster runs:
  front (TLS, mod_isbalancer)   https://localhost:$FRONT/
  balancer-manager              https://localhost:$FRONT/balancer-manager  (?format=json, ?format=prometheus)
  node isNode1 ($NODES, HTTPS)  https://localhost:$NODE1/
  node isNode2 ($NODES, HTTPS)  https://localhost:$NODE2/
  CA certificate                $DEMO/certs/ca.crt

Try:
  curl --cacert $DEMO/certs/ca.crt -c /tmp/jar -b /tmp/jar https://localhost:$FRONT/
        (repeat it: same node, the session counter goes up)
  curl --cacert $DEMO/certs/ca.crt https://localhost:$FRONT/    (new sessions alternate)
  scripts/demo.sh stop-node 1      (failover: everything goes to isNode2)
  scripts/demo.sh start-node 1     (recovery, within the members' retry=10)
  tail $DEMO/access.log            (member and session route of each request)
  scripts/demo.sh status | stop
TXT
}

self_check() {
  local ca="$DEMO/certs/ca.crt" url="https://localhost:$FRONT/" jar="$DEMO/jar"
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
  out=$(curl -sS --cacert "$ca" "https://localhost:$FRONT/balancer-manager?format=json") || return 1
  case "$out" in *'"route":"isNode1"'*'"route":"isNode2"'*) say "the balancer-manager lists both members";;
    *) say "the balancer-manager does not list both members"; return 1;; esac
}

NODES=tomcat
SYSTEM=
CONFDIR=${APACHE_CONFDIR:-/etc/apache2}
cmd=${1:-start}
[ $# -gt 0 ] && shift
case "$cmd" in --nodes|--system) set -- "$cmd" "$@"; cmd=start ;; esac
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) NODES=${2:?--nodes needs tomcat or builtin}; shift 2 ;;
    --system) SYSTEM=1; shift ;;
    [12]) NODE_ARG=$1; shift ;;
    *) die "unknown argument: $1" ;;
  esac
done
case "$NODES" in tomcat|builtin) ;; *) die "--nodes takes tomcat or builtin" ;; esac
if [ -z "$FRONT" ]; then
  if [ -n "$SYSTEM" ]; then FRONT=443; else FRONT=8443; fi
fi
case "$cmd" in
  start) start ;;
  stop) stop_all ;;
  status) status ;;
  stop-node) stop_node "${NODE_ARG:?which node: 1 or 2}" ;;
  start-node) start_node "${NODE_ARG:?which node: 1 or 2}" ;;
  undo-system) undo_system ;;
  *) die "usage: scripts/demo.sh [start [--nodes tomcat|builtin]|status|stop|stop-node N|start-node N]" ;;
esac
