#!/usr/bin/env bash
# Installs the Debian packages a Sluice target needs, only when missing.
# Usage: packaging/deps.sh [--list] build|package|test|run|bench|screenshots
# The one place that knows which packages each make target needs.
set -euo pipefail

build=(make gcc libc6-dev pkg-config libgl-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev)
# dpkg-dev: dpkg-shlibdeps computes the .deb's Depends (packaging/mkdeb);
# libx11-xcb1 and libxrender1: GLFW opens them at run time, and mkdeb asks
# dpkg which package ships them. The offline kit carries these packages.
package=("${build[@]}" dpkg-dev libx11-xcb1 libxrender1)
list=false
if [ "${1:-}" = --list ]; then list=true; shift; fi
case "${1:-build}" in
  build|run) want=("${build[@]}") ;;
  package) want=("${package[@]}") ;;
  # openssh-client: ssh-keygen proves our signatures verify with the stock tool;
  # age and tar: the payload opens with stock tools; dosfstools, fusefat and
  # fuse3: bundles go to and come back from a real FAT32 filesystem; exfat-fuse,
  # exfatprogs, e2fsprogs and mount (losetup): the same on exFAT and ext4;
  # dmsetup: fake-capacity sticks that wrap around (internal/fakestick).
  # clamav and clamav-daemon: the kiosk scans with a real clamd and clamscan,
  # on signature databases the tests write (no downloads here); zip: the
  # kiosk reads archives written by Info-ZIP as ordinary ones. iproute2 and
  # nftables: the diode receiver runs in a network namespace whose outbound
  # packets are dropped and counted (transfer/diode/oneway_linux_test.go).
  # strace: the air-gap self-check proves no command but the diode's opens
  # an Internet socket (airgap_test.go).
  # mupdf-tools (mutool draw) and poppler-utils (pdftoppm, the fallback):
  # transfer/transform renders PDFs to pixels; the LibreOffice -nogui
  # packages (no X11, about 150 MB to download) turn office documents into
  # PDFs first. bubblewrap: every renderer runs in its sandbox.
  # tesseract-ocr, tesseract-ocr-eng and tesseract-ocr-rus: the optional
  # OCR text layer (transform.ocr) is tested with the real tesseract, in
  # Latin and in Cyrillic (words beyond WinAnsi).
  # lintian: the .deb must pass it; groff-base: sluice(1) must format
  # without warnings (cli/man_test.go); git: the reproducibility test
  # clones the commit twice (packaging/repro.sh).
  test) want=("${package[@]}" lintian groff-base git mupdf-tools poppler-utils libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus bubblewrap iproute2 nftables openssh-client age tar dosfstools fusefat fuse3 exfat-fuse exfatprogs e2fsprogs mount util-linux udisks2 dbus udev procps dmsetup clamav clamav-daemon zip strace rsyslog) ;;
  # udpcast: the diode bench sends the same bundle with udp-sender --async.
  # mupdf-tools: the transform bench renders with Sluice and with a bare
  # mutool draw in the same run; tesseract-ocr and tesseract-ocr-eng: its
  # OCR row.
  bench) want=("${build[@]}" age tar coreutils findutils time clamav-daemon clamdscan udpcast mupdf-tools tesseract-ocr tesseract-ocr-eng bubblewrap) ;;
  screenshots) want=("${build[@]}" xvfb xdotool imagemagick dbus xdg-desktop-portal xdg-desktop-portal-gtk mupdf-tools bubblewrap) ;;
  *) echo "deps.sh: unknown target $1" >&2; exit 2 ;;
esac

# --list TARGET prints the packages instead (packaging/offline-kit.sh).
if $list; then printf '%s\n' "${want[@]}"; exit 0; fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

if ! command -v apt-get >/dev/null; then
  echo "deps.sh: missing packages ${missing[*]} and no apt-get here; install them by hand" >&2
  exit 2
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 2; }
  sudo=(sudo)
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
