#!/usr/bin/env bash
# The whole suite RUNS times in a row (default 10) while stress-ng keeps one core busy: what a
# newcomer's loaded 2-core machine does to timing. Every run must pass. Logs: .build/stress/.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10}
case "$runs" in ''|*[!0-9]*) echo "test-stress: RUNS must be a number" >&2; exit 64 ;; esac
APT_PACKAGES=stress-ng ./scripts/bootstrap.sh || exit 1
swift build --build-tests || exit 1
mkdir -p .build/stress
stress-ng --cpu 1 --timeout 0 --quiet &
stress=$!
trap 'kill "$stress" 2>/dev/null; wait "$stress" 2>/dev/null' EXIT
passed=0
failed=0
for i in $(seq 1 "$runs"); do
    log=.build/stress/run-$i.log
    start=$(date +%s)
    if swift test --skip-build >"$log" 2>&1; then
        passed=$((passed + 1))
        echo "run $i/$runs: passed in $(( $(date +%s) - start )) s ($(grep -Eo 'Test run with [0-9]+ tests' "$log" | tail -1))"
    else
        failed=$((failed + 1))
        echo "run $i/$runs: FAILED in $(( $(date +%s) - start )) s; $log:"
        grep -E '^✘|Fatal error|fatal error|Segmentation' "$log" | head -20
    fi
done
echo "test-stress: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
