#!/usr/bin/env bash
# Builds Sluice's binary and .deb from this kit alone, with no network:
# checks SHA256SUMS, installs the Debian build dependencies the machine
# lacks from debs/ (as root), then builds with the carried Go toolchain and
# modules. BUILD.md says how, step by step.
#
# Usage: ./build.sh [--test]
#   --test  also runs the unit tests of transfer/, crypto/ and internal/
# The binary is src/sluice, the package dist/sluice_VERSION_ARCH.deb.
set -euo pipefail

kit=$(cd "$(dirname "$0")" && pwd)
cd "$kit"
run_tests=false
[ "${1:-}" = --test ] && run_tests=true

echo "build.sh: checking every file against SHA256SUMS"
if ! sha256sum --quiet --strict -c SHA256SUMS; then
  echo "build.sh: the files above do not match SHA256SUMS: the kit is damaged or was changed; get a good copy" >&2
  exit 1
fi
if [ -f UNSIGNED ]; then
  echo "build.sh: WARNING: this kit is UNSIGNED (see the UNSIGNED file): nothing proves who made it" >&2
elif [ ! -f SHA256SUMS.sig ]; then
  echo "build.sh: SHA256SUMS.sig is missing, yet the kit does not say it is unsigned: do not trust it" >&2
  exit 1
fi

# Debian packages come from debs/ only: apt is pointed at the kit and
# nowhere else, through its own configuration (the machine's is untouched).
work=$kit/work
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/apt/sources.list.d"
echo "deb [trusted=yes] file:$kit/debs ./" >"$work/apt/sources.list"
cat >"$work/apt/apt.conf" <<CONF
Dir::Etc::SourceList "$work/apt/sources.list";
Dir::Etc::SourceParts "$work/apt/sources.list.d";
Dir::State::Lists "$work/apt/lists";
Dir::Cache "$work/apt/cache";
Acquire::Languages "none";
APT::Sandbox::User "root";
CONF
export APT_CONFIG=$work/apt/apt.conf
src/packaging/deps.sh package

# Go: the carried toolchain and modules, nothing downloaded.
export GOROOT=$kit/go
export PATH=$GOROOT/bin:$PATH
export GOTOOLCHAIN=local GOPROXY=file://$kit/modules GOSUMDB=off GOFLAGS=-mod=readonly GOTELEMETRY=off
export GOMODCACHE=${GOMODCACHE:-$work/gomodcache}
echo "build.sh: $(go version), modules from $GOPROXY"

cd src
make build package DIST="$kit/dist"
if $run_tests; then
  go test -count=1 ./transfer/... ./crypto/... ./internal/...
fi
echo "build.sh: built from commit $(cat COMMIT):"
sha256sum sluice "$kit"/dist/*.deb
