#!/usr/bin/env bash
# Runs the real app under Xvfb on two freshly made stations (one bundle sent
# and released), clicks through the main screens with xdotool and saves
# PNGs to docs/screenshots/. Used by `make screenshots`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/sluice
out=$PWD/docs/screenshots
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

s=$work/sender k=$work/kiosk
"$bin" --home "$s" init --name sender-1 >/dev/null
"$bin" --home "$k" init --name kiosk-1 >/dev/null
"$bin" --home "$k" id | "$bin" --home "$s" trust add - >/dev/null
"$bin" --home "$s" id | "$bin" --home "$k" trust add - >/dev/null
mkdir -p "$work/reports/q3" "$work/media" "$work/inbox"
printf 'quarterly figures\n' > "$work/reports/q3/summary.txt"
head -c 2000000 /dev/urandom > "$work/reports/plant-data.bin"
bundle=$("$bin" --home "$s" pack --to kiosk-1 --out "$work/media" --note "weekly reports" "$work/reports" | tail -n 1)
"$bin" --home "$k" receive --out "$work/inbox" "$bundle" >/dev/null

cat > "$work/click.sh" <<EOS
set -e
SLUICE_HOME="$k" "$bin" &
app=\$!
sleep 4
shot() { import -window root -crop 900x640+0+0 "$out/\$1.png"; }
shot send
xdotool mousemove 130 22 click 1; sleep 1; shot receive
xdotool mousemove 245 22 click 1; sleep 1; shot custody-log
xdotool mousemove 355 22 click 1; sleep 1; shot station
kill \$app
EOS
xvfb-run -a -s "-screen 0 1000x700x24" bash "$work/click.sh"
echo "screenshots in $out:"
ls "$out"
