#!/usr/bin/env bash
# Makes the offline build kit, dist/sluice-kit-VERSION-COMMIT.tar.gz: all a
# Debian machine with no network needs to build this commit's binary and
# .deb, byte for byte the same as make package gives here. make offline-kit
# runs it (with VERSION, COMMIT, SOURCE_DATE_EPOCH and RELEASE_KEY set).
#
#   src/          the source at HEAD (git archive), with COMMIT and
#                 SOURCE_DATE_EPOCH files standing in for git
#   modules/      every Go module the build and the tests need, as a
#                 GOPROXY=file:// tree (zips checked against go.sum)
#   go/           the Go toolchain that built it (its GOROOT)
#   debs/         packaging/deps.sh's build and package lists with their
#                 dependency closure, and a Packages index for apt
#   sbom.cdx.json CycloneDX SBOM of what is compiled in, licences resolved
#   build.sh, BUILD.md, SHA256SUMS, SHA256SUMS.sig (with RELEASE_KEY)
set -euo pipefail

: "${VERSION:?run make offline-kit}" "${COMMIT:?run make offline-kit}" "${SOURCE_DATE_EPOCH:?run make offline-kit}"
DIST=${DIST:-dist}
RELEASE_KEY=${RELEASE_KEY:-}
root=$(git rev-parse --show-toplevel)
head=$(git -C "$root" rev-parse HEAD)
if [ "$COMMIT" != "$head" ]; then
  echo "offline-kit: the tree has uncommitted changes (stamped $COMMIT); the kit holds commits only: commit, then run make offline-kit again" >&2
  exit 2
fi
if [ -n "$RELEASE_KEY" ] && [ ! -r "$RELEASE_KEY" ]; then
  echo "offline-kit: RELEASE_KEY=$RELEASE_KEY cannot be read; give the path of the release signing key (an OpenSSH private key)" >&2
  exit 2
fi
name=sluice-kit-$VERSION-${COMMIT:0:12}
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-kit.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
kit=$work/$name
mkdir -p "$kit/src" "$kit/debs"
t0=$SECONDS
step() { echo "offline-kit: $* ($((SECONDS - t0)) s)"; }

step "source at $COMMIT"
git -C "$root" archive --format=tar "$COMMIT" | tar -x -C "$kit/src"
printf '%s\n' "$COMMIT" >"$kit/src/COMMIT"
printf '%s\n' "$SOURCE_DATE_EPOCH" >"$kit/src/SOURCE_DATE_EPOCH"

# Modules: fetched into an empty module cache (from this machine's cache
# first, the proxy for what it lacks), everything the build and the tests
# of every package need; the cache's download tree is a GOPROXY.
step "Go modules"
modcache=$work/modcache
(
  cd "$kit/src"
  export GOMODCACHE=$modcache GOFLAGS=-mod=readonly
  export GOPROXY="file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)"
  go mod download
  go list -deps -test ./... >/dev/null
)
mkdir -p "$kit/modules"
(cd "$modcache/cache/download" && find . -path ./sumdb -prune -o -type f ! -name '*.lock' ! -name '*.partial' ! -name '*.ziphash' -print |
  tar -cf - -T - | tar -x -C "$kit/modules")

step "Go toolchain $(go env GOVERSION) from $(go env GOROOT)"
goroot=$(go env GOROOT)
mkdir "$kit/go"
tar -C "$goroot" -cf - . | tar -x -C "$kit/go"

step "Debian packages"
mapfile -t want < <("$root/packaging/deps.sh" --list package)
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances "${want[@]}" | grep -v '^ ' | grep -v '^<' | sort -u)
# Virtual packages and ones with no candidate cannot be downloaded.
# shellcheck disable=SC2086 # one name per word
mapfile -t real < <(apt-cache policy $closure | awk '/^[^ ]/ { p = $1; sub(/:$/, "", p) } /^  Candidate:/ && $2 != "(none)" { print p }')
# Downloaded once into a cache kept between kits, each file checked
# against the SHA-256 apt's signed index gives for it.
cache=${SLUICE_DEB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice/debs}
mkdir -p "$cache"
apt-get download --print-uris "${real[@]}" >"$work/uris"
fetch=()
# apt prints file names URL-encoded (libstdc%2b%2b6, 2%3a1.8); apt-get
# download saves some characters decoded: look for either.
decode() { printf '%b' "${1//%/\\x}"; }
cached() { if [ -f "$cache/$1" ]; then echo "$cache/$1"; else echo "$cache/$(decode "$1")"; fi; }
while read -r uri file size hash; do
  f=$(cached "$file")
  [ -f "$f" ] && [ "$(sha256sum <"$f" | cut -d' ' -f1)" = "${hash#SHA256:}" ] && continue
  rm -f "$f"
  fetch+=("$(decode "${file%%_*}")")
done <"$work/uris"
if ((${#fetch[@]})); then
  (cd "$cache" && apt-get download -qq -o APT::Sandbox::User=root "${fetch[@]}" >/dev/null)
fi
while read -r uri file size hash; do
  f=$(cached "$file")
  if [ ! -f "$f" ] || [ "$(sha256sum <"$f" | cut -d' ' -f1)" != "${hash#SHA256:}" ]; then
    echo "offline-kit: $file is missing or does not match apt's SHA-256 for it; delete $cache and run again" >&2
    exit 1
  fi
  cp "$f" "$kit/debs/"
done <"$work/uris"
(cd "$kit/debs" && dpkg-scanpackages --multiversion . /dev/null 2>/dev/null >Packages)
echo "offline-kit: ${#real[@]} Debian packages ($(du -sh "$kit/debs" | cut -f1))"

step "SBOM (cyclonedx-gomod app, licences resolved)"
# It names the main module's version from git, so it runs in a clone.
git clone -q --no-checkout "$root" "$work/sbom-src"
git -C "$work/sbom-src" -c advice.detachedHead=false checkout -q "$COMMIT"
(
  cd "$work/sbom-src"
  CGO_ENABLED=1 go run github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0 \
    app -json -licenses -main . -output "$kit/sbom.cdx.json" . 2>"$work/sbom.log" ||
    { cat "$work/sbom.log" >&2; exit 1; }
)

cp "$root/packaging/kit/build.sh" "$root/packaging/kit/BUILD.md" "$kit/"
chmod 0755 "$kit/build.sh"

step "SHA256SUMS"
(cd "$kit" && find . -type f ! -name SHA256SUMS ! -name SHA256SUMS.sig -printf '%P\n' | LC_ALL=C sort |
  xargs -d '\n' sha256sum >SHA256SUMS)
if [ -n "$RELEASE_KEY" ]; then
  ssh-keygen -q -Y sign -n sluice-release@sluice -f "$RELEASE_KEY" "$kit/SHA256SUMS"
  ssh-keygen -y -f "$RELEASE_KEY" >"$kit/release-key.pub" 2>/dev/null || true
  echo "offline-kit: SHA256SUMS signed with $RELEASE_KEY (SHA256SUMS.sig)"
else
  cat >"$kit/UNSIGNED" <<'NOTE'
This kit is UNSIGNED: it was made without a release key (make offline-kit
RELEASE_KEY=...), so nothing proves who made it. SHA256SUMS only detects
damage in transit, not tampering. Do not use it where that matters.
NOTE
  echo "offline-kit: ############################################################" >&2
  echo "offline-kit: WARNING: the kit is UNSIGNED: no RELEASE_KEY was given, so"     >&2
  echo "offline-kit: SHA256SUMS.sig is missing and nothing proves who made the kit." >&2
  echo "offline-kit: Sign it: make offline-kit RELEASE_KEY=path/to/release-key"      >&2
  echo "offline-kit: ############################################################" >&2
fi

step "archive"
mkdir -p "$DIST"
out=$DIST/$name.tar.gz
tar -C "$work" --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
  -cf - "$name" | gzip -n -6 >"$out.tmp"
mv "$out.tmp" "$out"
step "$(du -h "$out" | cut -f1)"
echo "$out"
