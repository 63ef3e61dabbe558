#!/usr/bin/env bash
# Tests the offline build kit as a technician would use it, with no network:
# unpacks it, checks its signature, checks that its debs/ alone can install
# the build dependencies with all they depend on, then
# runs its build.sh --test inside a network namespace (loopback only) with
# empty Go caches, and requires the binary and .deb to hash the same as
# this machine's make package. make test-kit runs it; it needs root and
# skips, saying so, elsewhere.
set -euo pipefail

: "${VERSION:?run make test-kit}" "${COMMIT:?run make test-kit}"
DIST=${DIST:-dist} BIN=${BIN:-sluice}
if [ "$(id -u)" -ne 0 ]; then
  echo "test-kit: SKIP: needs root (a network namespace, and installing from the kit); CI runs it as root"
  exit 0
fi
if ! unshare -n true 2>/dev/null; then
  echo "test-kit: SKIP: this machine does not allow unshare -n (no network namespaces here)"
  exit 0
fi
name=sluice-kit-$VERSION-${COMMIT:0:12}
arch=$(dpkg --print-architecture)
deb=sluice_${VERSION}_$arch.deb
want_bin=$(sha256sum <"$BIN" | cut -d' ' -f1)
want_deb=$(sha256sum <"$DIST/$deb" | cut -d' ' -f1)

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-test-kit.XXXXXX")
trap 'rm -rf "$work"' EXIT
t0=$SECONDS
tar -xzf "$DIST/$name.tar.gz" -C "$work"
kit=$work/$name
echo "test-kit: unpacked $DIST/$name.tar.gz in $((SECONDS - t0)) s"

# The signature, with the key the caller trusts, as BUILD.md says.
pub=${1:-}
if [ -n "$pub" ]; then
  echo "sluice-release $(cat "$pub")" >"$work/allowed_signers"
  if ! ssh-keygen -Y verify -f "$work/allowed_signers" -I sluice-release -n sluice-release@sluice \
    -s "$kit/SHA256SUMS.sig" <"$kit/SHA256SUMS" >"$work/verify.log" 2>&1; then
    echo "test-kit: FAIL: SHA256SUMS.sig does not verify with $pub:" >&2; cat "$work/verify.log" >&2; exit 1
  fi
  echo "test-kit: $(cat "$work/verify.log")"
  if sed 's/^./0/' "$kit/SHA256SUMS" | ssh-keygen -Y verify -f "$work/allowed_signers" -I sluice-release \
    -n sluice-release@sluice -s "$kit/SHA256SUMS.sig" >/dev/null 2>&1; then
    echo "test-kit: FAIL: an altered SHA256SUMS verified" >&2; exit 1
  fi
fi

# debs/ must hold the whole closure: apt, pointed at the kit only and
# told that nothing at all is installed, must resolve and (simulated)
# install the build list from debs/ alone.
apt=$work/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.list.d"
echo "deb [trusted=yes] file:$kit/debs ./" >"$apt/sources.list"
: >"$apt/status"
cat >"$apt/apt.conf" <<CONF
Dir::Etc::SourceList "$apt/sources.list";
Dir::Etc::SourceParts "$apt/sources.list.d";
Dir::State::Lists "$apt/lists";
Dir::State::status "$apt/status";
Dir::Cache "$apt/cache";
Acquire::Languages "none";
APT::Sandbox::User "root";
CONF
mapfile -t want < <("$kit/src/packaging/deps.sh" --list package)
if ! unshare -n -- env APT_CONFIG="$apt/apt.conf" sh -c 'apt-get update -qq && apt-get install -s -qq --no-install-recommends "$@"' sh "${want[@]}" >"$work/apt.log" 2>&1; then
  echo "test-kit: FAIL: apt cannot install the build dependencies from the kit's debs/ alone:" >&2
  tail -n 20 "$work/apt.log" >&2
  exit 1
fi
echo "test-kit: the kit's debs/ alone install the ${#want[@]} build packages ($(grep -c '^Inst ' "$work/apt.log") packages with their dependencies)"

# The build, with no network (only loopback, for tests that listen on
# 127.0.0.1) and empty Go caches. A mount namespace with its own /sys, so
# that /sys/class/net shows this network namespace's interfaces (the diode
# tests read their counters there).
mkdir -p "$work/home" "$work/tmp"
t1=$SECONDS
if ! unshare -n -m --propagation private -- sh -c 'mount -t sysfs sysfs /sys && ip link set lo up && exec "$@"' sh \
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$work/home" TMPDIR="$work/tmp" LANG=C.UTF-8 \
  GOCACHE="$work/gocache" GOMODCACHE="$work/gomodcache" "$kit/build.sh" --test >"$work/build.log" 2>&1; then
  echo "test-kit: FAIL: build.sh --test failed with no network:" >&2
  tail -n 40 "$work/build.log" >&2
  exit 1
fi
grep -E '^(ok|FAIL|---|build.sh:)' "$work/build.log" | grep -v 'no test files' || true
echo "test-kit: build.sh --test took $((SECONDS - t1)) s (cold Go caches, no network)"

got_bin=$(sha256sum <"$kit/src/sluice" | cut -d' ' -f1)
got_deb=$(sha256sum <"$kit/dist/$deb" | cut -d' ' -f1)
fail=0
[ "$got_bin" = "$want_bin" ] && echo "test-kit: binary identical to make build's: $got_bin" ||
  { echo "test-kit: FAIL: the kit's binary $got_bin differs from make build's $want_bin" >&2; fail=1; }
[ "$got_deb" = "$want_deb" ] && echo "test-kit: .deb identical to make package's: $got_deb" ||
  { echo "test-kit: FAIL: the kit's .deb $got_deb differs from make package's $want_deb" >&2; fail=1; }
echo "test-kit: $((SECONDS - t0)) s in all"
exit $fail
