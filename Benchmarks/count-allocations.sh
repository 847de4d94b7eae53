#!/usr/bin/env bash
# Heap allocations per call, server and client side, for each stack: runs the server with an
# LD_PRELOAD allocation counter, drives N calls at 1 in flight, and divides the difference
# between two snapshots by the number of calls.
set -euo pipefail
cd "$(dirname "$0")"
gcc -O2 -shared -fPIC -o .build/malloc_counter.so Tools/malloc_counter.c -ldl
SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}
for stack in ${STACKS:-raw ours grpc}; do
    LD_PRELOAD=$PWD/.build/malloc_counter.so .build/release/RPCBench serve "$stack" > /tmp/alloc-server.out 2>/dev/null &
    server=$!
    for _ in $(seq 1 100); do grep -q PORT /tmp/alloc-server.out 2>/dev/null && break; sleep 0.1; done
    port=$(awk '/PORT/ {print $2}' /tmp/alloc-server.out)
    .build/release/RPCBench client "$stack" "$port" 1 1 0.5 > /dev/null 2>&1   # warm up
    kill -USR2 "$server"; sleep 0.2; before=$(cat /tmp/malloc_count.$server)
    result=$(LD_PRELOAD=$PWD/.build/malloc_counter.so .build/release/RPCBench client "$stack" "$port" 1 1 "$SECONDS_PER_RUN" 2>/dev/null | tail -1)
    kill -USR2 "$server"; sleep 0.2; after=$(cat /tmp/malloc_count.$server)
    kill "$server"; wait "$server" 2>/dev/null || true
    calls=$(echo "$result" | awk '{print $NF}')
    echo "$stack: $result; server allocations/call: $(( (after - before) / calls ))"
    rm -f /tmp/malloc_count.$server
done
