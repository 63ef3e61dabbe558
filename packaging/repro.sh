#!/usr/bin/env bash
# Checks that the commit checked out builds reproducibly: two fresh clones
# in different folders, built a few seconds apart with different umasks,
# must give byte-identical binaries and .debs (SHA-256). Then the .deb must
# pass lintian, and its binary must say the version and commit it was
# stamped with. make test runs it (make repro alone); it tests HEAD, not
# uncommitted changes.
set -euo pipefail

root=$(git rev-parse --show-toplevel)
commit=$(git -C "$root" rev-parse HEAD)
version=$(cat "$root/VERSION")
if ! git -C "$root" diff --quiet HEAD --; then
  echo "repro: note: uncommitted changes are not tested; this builds commit $commit" >&2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-repro.XXXXXX")
trap 'rm -rf "$work"' EXIT

build() { # DIR UMASK
  local dir=$1
  mkdir -p "$(dirname "$dir")"
  git clone -q --no-checkout "$root" "$dir"
  git -C "$dir" -c advice.detachedHead=false checkout -q "$commit"
  local t0=$SECONDS
  if ! (cd "$dir" && umask "$2" && make -s package >"$dir.log" 2>&1); then
    echo "repro: make package failed in $dir:" >&2
    tail -n 30 "$dir.log" >&2
    exit 1
  fi
  echo "repro: built $dir in $((SECONDS - t0)) s (umask $2)"
}

a=$work/a
b=$work/elsewhere/at/another/depth/b
build "$a" 022
sleep 2 # the second build starts at another second of the clock
build "$b" 002

deb=dist/sluice_${version}_$(dpkg --print-architecture).deb
fail=0
for f in sluice "$deb"; do
  ha=$(sha256sum <"$a/$f" | cut -d' ' -f1)
  hb=$(sha256sum <"$b/$f" | cut -d' ' -f1)
  if [ "$ha" = "$hb" ]; then
    echo "repro: $f identical: sha256 $ha"
  else
    echo "repro: FAIL: $f differs between the two builds: $ha and $hb" >&2
    fail=1
  fi
done
if [ "$fail" -ne 0 ]; then
  if command -v diffoscope >/dev/null; then diffoscope "$a/$deb" "$b/$deb" | head -n 60 >&2 || true; fi
  exit 1
fi

# The packaged binary is the stamped one.
mkdir "$work/x"
dpkg-deb -x "$a/$deb" "$work/x"
out=$("$work/x/usr/bin/sluice" version)
case "$out" in
  "sluice $version"*"commit:    $commit"*) echo "repro: the packaged binary says sluice $version, commit $commit" ;;
  *) echo "repro: FAIL: the packaged binary's sluice version says:" >&2; echo "$out" >&2; exit 1 ;;
esac

echo "repro: lintian $deb"
lintian --fail-on error,warning --pedantic "$a/$deb" 2> >(grep -v 'running with root privileges' >&2)
echo "repro: lintian found nothing"
