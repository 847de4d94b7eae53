#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for building and testing, and nothing else:
# each check is cheap, so a warm machine skips every install.
set -euo pipefail

# libsqlite3-dev: GRDB links the system SQLite (the event bus and every service store).
APT_PACKAGES=(libsqlite3-dev ${APT_PACKAGES:-})
PIP_PACKAGES=("grpcio-tools==1.85.1" "protobuf>=6.31")

need_apt=()
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-pip)
command -v git >/dev/null 2>&1 || need_apt+=(git)
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "bootstrap: installing apt packages: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    if [ -x /opt/swift/usr/bin/swift ]; then
        echo "bootstrap: swift is at /opt/swift/usr/bin; add it to PATH" >&2
    else
        echo "bootstrap: Swift 6.1 or newer is required (https://swift.org/install)" >&2
    fi
    exit 1
fi

pip_install() {
    echo "bootstrap: installing Python packages: $*"
    python3 -m pip install --quiet --disable-pip-version-check "$@" 2>/dev/null \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
}

# The protobuf reference implementation (with protoc) is the conformance oracle of the tests.
if ! python3 -c "import grpc_tools.protoc, google.protobuf" >/dev/null 2>&1; then
    pip_install "${PIP_PACKAGES[@]}"
fi

# schemathesis fuzzes the gateway against its OpenAPI document (a test; `make fuzz-http`).
if ! command -v schemathesis >/dev/null 2>&1; then
    pip_install "schemathesis==4.32.5"
fi
