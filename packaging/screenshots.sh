#!/usr/bin/env bash
# Runs the real app under Xvfb on two freshly made stations and drives the
# officers' flows with xdotool, typing paths as an officer can: the sender
# stages a folder, ticks the kiosk, types the destination and seals (with
# the read-back); the kiosk's technician sets a release folder; the kiosk
# officer opens the bundle, releases it, then opens a tampered copy (a
# rejection); the custody logs after both; then an officer is enrolled:
# the Station screen's officers, the sign-in and the policy editor; a
# bundle through the diode; then, with the kiosk's policy copied to the
# sender, documents transformed before sealing, sealed with their
# originals, and released at the kiosk. Each step is captured at 1280x800
# and 1024x768 into docs/screenshots/NAME-WxH.png. Used by `make
# screenshots`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/sluice
out=$PWD/docs/screenshots
mkdir -p "$out"
rm -f "$out"/*.png
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Fyne keeps a settings folder per app ID, and every home made here is an
# app ID of its own: they go in the temporary folder, not the user's.
export XDG_CONFIG_HOME=$work/config

# run HOME W H SCRIPT: start the app on HOME in a WxH screen, run the
# xdotool SCRIPT (which calls shot NAME), quit.
run() {
	local home=$1 W=$2 H=$3 script=$4
	cat > "$work/inner.sh" <<EOS
set -e
shot() { sleep 0.8; import -window root "$out/\$1-${W}x${H}.png"; }
"$bin" --home "$home" 2>>"$work/app.log" &
app=\$!
for i in \$(seq 1 80); do xdotool search --name Sluice >/dev/null 2>&1 && break; sleep 0.25; done
sleep 1
wid=\$(xdotool search --name Sluice | head -1)
xdotool windowsize \$wid $W $H windowmove \$wid 0 0
sleep 1
$script
kill \$app
wait \$app 2>/dev/null || true
EOS
	xvfb-run -a -s "-screen 0 ${W}x${H}x24" bash "$work/inner.sh"
}

for size in 1280x800 1024x768; do
	W=${size%x*} H=${size#*x}
	s=$work/$size/sender k=$work/$size/kiosk
	mkdir -p "$work/$size"
	"$bin" --home "$s" init --name sender-1 >/dev/null
	"$bin" --home "$k" init --name kiosk-1 --pq >/dev/null
	"$bin" --home "$k" id | "$bin" --home "$s" trust add - >/dev/null
	"$bin" --home "$s" id | "$bin" --home "$k" trust add - >/dev/null
	r=$work/$size/reports media=$work/$size/media released=$work/$size/released
	mkdir -p "$r/q3" "$media" "$released"
	printf 'quarterly figures\n' > "$r/q3/summary.txt"
	for i in $(seq 1 24); do head -c 40000 /dev/urandom > "$r/q3/plant-$i.bin"; done
	head -c 3000000 /dev/urandom > "$r/turbine-log.bin"
	right=$((W * 58 / 100))

	# Sender: stage by typing the folder, tick kiosk-1, type the
	# destination, seal and read back (Ctrl+Enter once nothing is focused).
	run "$s" "$W" "$H" "
xdotool mousemove 300 140 click 1; xdotool type --delay 2 '$r'; xdotool key Return; sleep 2
shot send-staged
xdotool mousemove $((right + 22)) 143 click 1; sleep 0.3
xdotool mousemove $((right + 200)) 261 click 1; xdotool type --delay 2 '$media'; sleep 0.3
xdotool mousemove 300 62 click 1; xdotool key ctrl+Return; sleep 3
shot send-sealed
xdotool mousemove 350 22 click 1; shot station-sender"
	bundle=$(ls -d "$media"/*.sluice | head -1)
	# A bundle the kiosk's policy holds: a program named as a PDF.
	held=$work/$size/held h=$work/$size/invoices
	mkdir -p "$held" "$h"
	# A Windows program: MZ, its PE header at 0x40.
	{ printf 'MZ'; head -c 58 /dev/zero; printf '\x40\x00\x00\x00PE\x00\x00 a program, not an invoice'; } > "$h/invoice-2291.pdf"
	printf 'paid in full\n' > "$h/receipt.txt"
	heldb=$("$bin" --home "$s" pack --to kiosk-1 --out "$held" "$h" | tail -1)
	# A tampered copy for the rejection.
	bad=$work/$size/bad
	mkdir -p "$bad"
	cp -r "$bundle" "$bad/"
	vol=$(ls "$bad"/*.sluice/payload.age.0000)
	printf 'X' | dd of="$vol" bs=1 seek=5000 conv=notrunc status=none

	# Kiosk: the technician types the release folder on the Station
	# screen; the officer opens the bundle by typing its path, releases it,
	# then opens the tampered copy.
	run "$k" "$W" "$H" "
xdotool mousemove 130 22 click 1; shot receive-empty
xdotool mousemove 350 22 click 1; sleep 0.3
xdotool mousemove 700 140 click 1; xdotool type --delay 2 '$released'; xdotool key Return; sleep 0.5
shot station-kiosk
xdotool mousemove 130 22 click 1; sleep 0.3
xdotool mousemove 600 140 click 1; xdotool type --delay 2 '$bundle'; xdotool key Return; sleep 2.5
shot receive-checked
xdotool mousemove 300 62 click 1; xdotool key ctrl+Return; sleep 3
shot receive-released
xdotool mousemove 600 140 click 1; xdotool key ctrl+a; xdotool type --delay 2 '$(ls -d "$bad"/*.sluice)'; xdotool key Return; sleep 2.5
shot receive-tampered
\"$bin\" --home \"$k\" receive --out \"$released\" \"$(ls -d "$bad"/*.sluice)\" >/dev/null 2>&1 || true
xdotool mousemove 600 140 click 1; xdotool key ctrl+a; xdotool type --delay 2 '$heldb'; xdotool key Return; sleep 2.5
xdotool mousemove 300 62 click 1; xdotool key ctrl+Return; sleep 3
shot receive-held
xdotool mousemove $((W / 2)) $((H * 90 / 100)) click 1; sleep 0.5
xdotool mousemove 245 22 click 1; sleep 1.5; shot custody-log-kiosk
printf 'alice passphrase, long\\n' | \"$bin\" --home \"$k\" officer add alice --passphrase-fd 0 >/dev/null; sleep 2.5
xdotool mousemove 350 22 click 1; sleep 0.5; shot station-officers
xdotool mousemove 280 280; for i in \$(seq 1 60); do xdotool click 5; done; sleep 0.5; shot station-updates
xdotool mousemove 280 280; for i in \$(seq 1 60); do xdotool click 4; done; sleep 0.3
xdotool mousemove $((W - 60)) 22 click 1; sleep 0.8; shot sign-in
xdotool mousemove $((W / 2 - 45)) $((H / 2 + 57)) click 1; sleep 0.3
xdotool mousemove 70 686 click 1; sleep 0.8; shot policy-editor"
	run "$s" "$W" "$H" "xdotool mousemove 245 22 click 1; shot custody-log-sender"
	# Through the diode: the kiosk listens (its desktop's link), the sender
	# sends a new bundle with the CLI; it arrives and opens by itself.
	port=$((20000 + RANDOM % 20000))
	"$bin" --home "$k" desktop diode --listen "127.0.0.1:$port" --inbox "$work/$size/inbox" >/dev/null
	mkdir -p "$work/$size/dsrc" "$work/$size/dout"
	printf 'sent one way\n' > "$work/$size/dsrc/telemetry.csv"
	db=$("$bin" --home "$s" pack --to kiosk-1 --out "$work/$size/dout" "$work/$size/dsrc" | tail -1)
	run "$k" "$W" "$H" "
xdotool mousemove 130 22 click 1; sleep 0.5
\"$bin\" --home \"$s\" diode send --to 127.0.0.1:$port --rate 20M \"$db\" >/dev/null; sleep 2.5
shot receive-diode"
	# Transform, then verify: the sender holds a copy of the kiosk's policy
	# (documents and images transformed by the sender, their originals
	# sealed apart, which alice, the kiosk's officer, allows); a report, a
	# photo and notes are staged, kiosk-1 ticked, the report selected; the
	# bundle is sealed, then opened and released at the kiosk.
	"$bin" --home "$k" policy show | sed 's/^seal_originals = false/seal_originals = true/' > "$work/$size/kiosk-policy.toml"
	printf 'alice passphrase, long\n' | "$bin" --home "$k" policy install --officer alice --passphrase-fd 0 "$work/$size/kiosk-policy.toml" >/dev/null
	"$bin" --home "$s" policy import kiosk-1 "$work/$size/kiosk-policy.toml" >/dev/null
	omedia=$work/$size/omedia
	mkdir -p "$omedia"
	d=$work/$size/docs
	mkdir -p "$d"
	printf '%%%%MediaBox 0 0 595 842\n%%%%Font F1 Helvetica\nBT /F1 28 Tf 72 760 Td (Q3 report) Tj /F1 14 Tf 0 -40 Td (All plants ran within limits.) Tj ET\n' > "$work/$size/page.txt"
	mutool create -o "$d/q3-report.pdf" "$work/$size/page.txt"
	convert -size 480x320 gradient:steelblue-white "$d/site-photo.png"
	printf 'plain words\n' > "$d/notes.txt"
	run "$s" "$W" "$H" "
xdotool mousemove 300 140 click 1; xdotool type --delay 2 '$d'; xdotool key Return; sleep 2
xdotool mousemove $((right + 22)) 143 click 1; sleep 4
xdotool mousemove 150 293 click 1; sleep 2
shot send-transformed
xdotool mousemove $((right + 200)) 261 click 1; xdotool type --delay 2 '$omedia'; sleep 0.3
xdotool mousemove 300 62 click 1; xdotool key ctrl+Return; sleep 4
shot send-sealed-originals"
	ob=$(ls -d "$omedia"/*.sluice | head -1)
	run "$k" "$W" "$H" "
xdotool mousemove 130 22 click 1; sleep 0.3
xdotool mousemove 600 140 click 1; xdotool type --delay 2 '$ob'; xdotool key Return; sleep 2.5
shot receive-originals
xdotool mousemove 300 62 click 1; xdotool key ctrl+Return; sleep 3
shot receive-originals-released"
done
# The desktop's own file chooser through xdg-desktop-portal (GTK backend,
# in a D-Bus session of its own): Add files… opens it, a path is typed.
p=$work/portal
"$bin" --home "$p/s" init --name sender-1 >/dev/null
mkdir -p "$p/files"; head -c 100000 /dev/urandom > "$p/files/chosen-in-the-portal.bin"
cat > "$work/portal.sh" <<EOS
export XDG_CURRENT_DESKTOP=GNOME
"$bin" --home "$p/s" 2>>"$work/portal.log" &
app=\$!
for i in \$(seq 1 80); do xdotool search --name Sluice >/dev/null 2>&1 && break; sleep 0.25; done
sleep 1
wid=\$(xdotool search --name Sluice | head -1)
xdotool windowsize \$wid 1280 800 windowmove \$wid 0 0; sleep 1
xdotool mousemove 60 101 click 1; sleep 4
import -window root "$out/portal-chooser-1280x800.png"
xdotool key ctrl+l; sleep 0.5; xdotool type --delay 2 "$p/files/chosen-in-the-portal.bin"
sleep 1; xdotool key Return; sleep 1; xdotool key Return; sleep 3
import -window root "$out/portal-staged-1280x800.png"
kill \$app
EOS
xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash "$work/portal.sh" 2>/dev/null || true

if grep -v -e '^$' "$work/app.log" | grep -q .; then
	echo "the app wrote to stderr:"
	cat "$work/app.log"
fi
echo "screenshots in $out:"
ls "$out"
