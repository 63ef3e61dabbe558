package main

import (
	"image/png"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The relay drops what its rule says, forwards the rest one way, and
// counts what comes back without forwarding it.
func TestRelay(t *testing.T) {
	dst, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	forceBuffer(dst, 8<<20, true)
	rl, err := newRelay(0, 0, dst.LocalAddr().(*net.UDPAddr), lossRule{Loss: 0.10, Bursts: []burst{{1000, 100}}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	src, err := net.DialUDP("udp4", nil, rl.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	const n = 5000
	for i := range n {
		if _, err := src.Write(make([]byte, 1472)); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			time.Sleep(time.Millisecond) // stay within the socket buffers
		}
	}
	got := 0
	var from *net.UDPAddr
	buf := make([]byte, 2000)
	for {
		dst.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, a, err := dst.ReadFromUDP(buf)
		if err != nil {
			break
		}
		got, from = got+1, a
	}
	dst.WriteToUDP([]byte("back"), from) // must not reach src
	time.Sleep(100 * time.Millisecond)
	rl.close()
	st := rl.stats()
	if st.seen != n || int64(got) != n-st.dropped || st.backward != 1 {
		t.Fatalf("seen %d, dropped %d, delivered %d, back %d", st.seen, st.dropped, got, st.backward)
	}
	if st.dropped < 100+300 || st.dropped > 100+700 {
		t.Errorf("dropped %d of %d with 10 %% random and a 100-packet burst", st.dropped, n)
	}
	src.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := src.Read(buf); err == nil {
		t.Error("a packet from the receiver's side reached the sender")
	}
}

func TestParseWire(t *testing.T) {
	out := "Sent 1 bundle(s) through the diode to 127.0.0.1:7777: session 78dd682197fc9b15, 1 pass(es), 26,798 packets of 1472 bytes, 455 Mbit/s on the wire, in 707ms\n  20261130T055331Z-615b37b61ade5d36  29 MiB in 165 block(s)\n"
	if w := parseWire(out); w != 455e6 {
		t.Errorf("parseWire = %v", w)
	}
	for in, want := range map[string]int64{"500M": 500e6, "1G": 1e9, "1.5G": 1500e6, "800k": 800e3} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %d, %v", in, got, err)
		}
	}
}

// The loss curve is drawn as a PNG (SLUICE_BENCH_PNG=path keeps a copy to
// look at).
func TestDrawCurve(t *testing.T) {
	ok := outcome{ok: true, link: 350e6}
	rows := []curveRow{
		{label: "no loss", sluice: []outcome{ok, ok}, udpcast: []outcome{ok, ok}, sluiceP: 370, udpcstP: 380},
		{label: "5 % random", sluice: []outcome{ok, ok}, udpcast: []outcome{ok, {}}, sluiceP: 340, udpcstP: 120},
		{label: "1,000-packet burst", sluice: []outcome{ok, ok}, udpcast: []outcome{{}, {}}, sluiceP: 345},
	}
	path := os.Getenv("SLUICE_BENCH_PNG")
	if path == "" {
		path = filepath.Join(t.TempDir(), "curve.png")
	}
	if err := drawCurve(path, rows, 500e6, 64, 2, true); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() < 800 {
		t.Fatalf("png: %v, %v", img.Bounds(), err)
	}
}
