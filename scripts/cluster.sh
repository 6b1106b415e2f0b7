#!/usr/bin/env bash
# A Redis Cluster for keyset on loopback: 3 masters and 3 replicas in a
# temporary directory, every write fsynced (`appendfsync always`).
#
#   scripts/cluster.sh start    start the nodes, create the cluster, wait until it is ok
#   scripts/cluster.sh stop     stop the nodes and remove their directory
#   scripts/cluster.sh status   print `cluster info` and the nodes
#
# KEYSET_CLUSTER_PORT (default 7000) is the first port; the nodes take it and
# the 5 after it. KEYSET_CLUSTER_DIR (default /tmp/keyset-cluster-<port>)
# holds the nodes' files and pids. KEYSET_CLUSTER_NODE_TIMEOUT (ms, default
# 2000) is `cluster-node-timeout`: how long a master may be silent before its
# replica takes over.
set -euo pipefail

PORT="${KEYSET_CLUSTER_PORT:-7000}"
DIR="${KEYSET_CLUSTER_DIR:-/tmp/keyset-cluster-$PORT}"
NODE_TIMEOUT="${KEYSET_CLUSTER_NODE_TIMEOUT:-2000}"
NODES=6
WAIT_SECONDS="${KEYSET_CLUSTER_WAIT:-120}"

ports() { seq "$PORT" $((PORT + NODES - 1)); }

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "cluster.sh: $1 is not installed (apt-get install -y redis-server)" >&2
    exit 2
  fi
}

start() {
  need redis-server
  need redis-cli
  mkdir -p "$DIR"
  for p in $(ports); do
    mkdir -p "$DIR/$p"
    rm -f "$DIR/$p/nodes.conf" "$DIR/$p"/*.aof "$DIR/$p"/dump.rdb
    rm -rf "$DIR/$p/appendonlydir"
    redis-server --port "$p" --bind 127.0.0.1 --protected-mode no \
      --cluster-enabled yes --cluster-config-file "$DIR/$p/nodes.conf" \
      --cluster-node-timeout "$NODE_TIMEOUT" \
      --appendonly yes --appendfsync always --save '' \
      --dir "$DIR/$p" --daemonize yes --pidfile "$DIR/$p/redis.pid" \
      --logfile "$DIR/$p/redis.log"
  done
  for p in $(ports); do
    wait_for "node $p answers" "redis-cli -p $p ping | grep -q PONG"
  done
  local addrs=()
  for p in $(ports); do addrs+=("127.0.0.1:$p"); done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/create.log" 2>&1 || {
    cat "$DIR/create.log" >&2
    exit 1
  }
  for p in $(ports); do
    wait_for "node $p sees the cluster ok" \
      "redis-cli -p $p cluster info | grep -q 'cluster_state:ok'"
  done
  for p in $(ports); do
    wait_for "node $p knows all 3 replicas" \
      "[ \"\$(redis-cli -p $p cluster nodes | grep -c slave)\" -eq 3 ]"
  done
  echo "cluster up: redis://127.0.0.1:$PORT (nodes $PORT..$((PORT + NODES - 1)), files in $DIR)"
}

wait_for() {
  local what="$1" check="$2" waited=0
  until eval "$check" >/dev/null 2>&1; do
    if [ "$waited" -ge $((WAIT_SECONDS * 10)) ]; then
      echo "cluster.sh: gave up after ${WAIT_SECONDS}s waiting until $what" >&2
      exit 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

stop() {
  for p in $(ports); do
    if [ -f "$DIR/$p/redis.pid" ]; then
      kill "$(cat "$DIR/$p/redis.pid")" 2>/dev/null || true
    fi
  done
  for p in $(ports); do
    if [ -f "$DIR/$p/redis.pid" ]; then
      local pid
      pid="$(cat "$DIR/$p/redis.pid")"
      local waited=0
      while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 100 ]; do
        sleep 0.1
        waited=$((waited + 1))
      done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$DIR"
  echo "cluster on ports $PORT..$((PORT + NODES - 1)) stopped"
}

status() {
  need redis-cli
  redis-cli -p "$PORT" cluster info
  redis-cli -p "$PORT" cluster nodes
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
