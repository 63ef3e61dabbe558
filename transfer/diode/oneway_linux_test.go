package diode

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// The receiver never writes to its socket, proven from outside the
// process: Receive runs (a child of this test binary) in a network
// namespace of its own whose only link is one end of a veth pair, with an
// nftables policy that drops every packet the namespace sends (IP and
// ARP, each rule counting what it drops), IPv6 off and ARP off on its end.
// The host sends a bundle through the veth; the bundle must arrive whole,
// the namespace's counters must show that nothing in it tried to send a
// single packet, and the host's end of the veth must have received none.
// A probe that does send one from the namespace checks that the counters
// would have seen it. Linux, root, ip (iproute2) and nft (nftables).
func TestReceiverNeverWrites(t *testing.T) {
	switch os.Getenv("SLUICE_ONEWAY_CHILD") {
	case "receive":
		onewayReceiver()
		return
	case "probe":
		onewayProbe()
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a network namespace and a veth pair (run the tests as root)")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (packaging/deps.sh test installs iproute2 and nftables)", tool)
		}
	}
	pid := os.Getpid()
	ns := fmt.Sprintf("sluice-oneway-%d", pid)
	host, inner := fmt.Sprintf("sdh%d", pid%1000000), fmt.Sprintf("sdn%d", pid%1000000)
	subnet := fmt.Sprintf("10.213.%d.", pid%250)
	hostIP, innerIP := subnet+"1", subnet+"2"
	const innerMAC = "02:53:4c:44:00:02"
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("cannot make a network namespace here (%v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", ns).Run()
		exec.Command("ip", "link", "del", host).Run()
	})
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	inNS := func(args ...string) { t.Helper(); run(append([]string{"ip", "netns", "exec", ns}, args...)...) }
	run("ip", "link", "add", host, "type", "veth", "peer", "name", inner)
	run("ip", "link", "set", inner, "netns", ns)
	inNS("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	// Every packet the namespace would send is counted and dropped.
	rules := `table inet oneway {
	chain out {
		type filter hook output priority 0; policy drop;
		counter
	}
}
table arp oneway {
	chain out {
		type filter hook output priority 0; policy drop;
		counter
	}
}
`
	nft := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	nft.Stdin = strings.NewReader(rules)
	if out, err := nft.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
	inNS("ip", "link", "set", inner, "address", innerMAC, "arp", "off", "multicast", "off")
	inNS("ip", "addr", "add", innerIP+"/30", "dev", inner)
	inNS("ip", "link", "set", inner, "up")
	inNS("ip", "link", "set", "lo", "up")
	run("ip", "addr", "add", hostIP+"/30", "dev", host)
	run("ip", "link", "set", host, "up")
	// The namespace answers no ARP, so the host knows its address already.
	run("ip", "neigh", "replace", innerIP, "lladdr", innerMAC, "dev", host, "nud", "permanent")

	a, k := newStation(t, "alpha"), newStation(t, "kiosk")
	dir := sealBundle(t, a, k, 8<<20, 0, 77)
	inbox := t.TempDir()
	port := 47000 + pid%1000
	child := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestReceiverNeverWrites$", "-test.count=1", "-test.v")
	child.Env = append(os.Environ(), "SLUICE_ONEWAY_CHILD=receive", "SLUICE_ONEWAY_INBOX="+inbox,
		"SLUICE_ONEWAY_LISTEN="+net.JoinHostPort(innerIP, strconv.Itoa(port)),
		"SLUICE_ONEWAY_KEY="+string(ssh.MarshalAuthorizedKey(a.keys.Signer.PublicKey())))
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect := func(marker string) string {
		t.Helper()
		timeout := time.After(60 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the receiver in the namespace exited before saying %s", marker)
				}
				if strings.HasPrefix(l, "ONEWAY-FAIL") {
					t.Fatalf("receiver in the namespace: %s", l)
				}
				if strings.HasPrefix(l, marker) {
					return l
				}
			case <-timeout:
				t.Fatalf("the receiver in the namespace did not say %s within 60 s", marker)
			}
		}
	}
	expect("ONEWAY-LISTENING")
	rxBefore := hostCounter(t, host, "rx_packets")
	rep, err := sendTo(t, context.Background(), &net.UDPAddr{IP: net.ParseIP(innerIP).To4(), Port: port}, []string{dir}, a, SendOptions{Rate: 200e6})
	if err != nil {
		t.Fatal(err)
	}
	expect("ONEWAY-COMPLETE")
	stdin.Close() // the receiver returns now, after the session's last packet
	if err := child.Wait(); err != nil {
		t.Fatalf("receiver in the namespace: %v", err)
	}
	sameBundle(t, dir, filepath.Join(inbox, filepath.Base(dir)))
	sent := nsCounters(t, ns)
	back := hostCounter(t, host, "rx_packets") - rxBefore
	t.Logf("%d packets sent into the namespace; the namespace tried to send %d packets (IP %d, ARP %d); the host's end received %d",
		rep.Packets, sent[0]+sent[1], sent[0], sent[1], back)
	if sent[0]+sent[1] != 0 || back != 0 {
		t.Fatalf("the receiver's namespace sent packets: IP %d, ARP %d tried, %d reached the host", sent[0], sent[1], back)
	}

	// The instrument works: one datagram sent from the namespace shows
	// in its counter and does not reach the host.
	probe := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestReceiverNeverWrites$", "-test.count=1")
	probe.Env = append(os.Environ(), "SLUICE_ONEWAY_CHILD=probe", "SLUICE_ONEWAY_TO="+net.JoinHostPort(hostIP, "9"))
	if out, err := probe.CombinedOutput(); err != nil {
		t.Fatalf("probe: %v: %s", err, out)
	}
	after := nsCounters(t, ns)
	if after[0] < 1 {
		t.Fatalf("a datagram sent from the namespace was not counted (counters %v): the test cannot see what it claims to", after)
	}
	if n := hostCounter(t, host, "rx_packets") - rxBefore; n != 0 {
		t.Fatalf("the probe's datagram reached the host (%d packets): outbound traffic is not dropped", n)
	}
}

func hostCounter(t *testing.T, dev, name string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/sys/class/net", dev, "statistics", name))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var nftCounter = regexp.MustCompile(`counter packets (\d+)`)

// nsCounters reads the namespace's drop counters: IP (inet) and ARP.
func nsCounters(t *testing.T, ns string) [2]int64 {
	t.Helper()
	var c [2]int64
	for i, family := range []string{"inet", "arp"} {
		out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "table", family, "oneway").CombinedOutput()
		if err != nil {
			t.Fatalf("nft list: %v: %s", err, out)
		}
		m := nftCounter.FindSubmatch(out)
		if m == nil {
			t.Fatalf("no counter in %s", out)
		}
		c[i], _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	return c
}

// onewayReceiver is the child: Receive in the namespace until its
// standard input closes.
func onewayReceiver() {
	fail := func(f string, args ...any) {
		fmt.Printf("ONEWAY-FAIL "+f+"\n", args...)
		os.Exit(1)
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(os.Getenv("SLUICE_ONEWAY_KEY")))
	if err != nil {
		fail("key: %v", err)
	}
	addr, err := net.ResolveUDPAddr("udp4", os.Getenv("SLUICE_ONEWAY_LISTEN"))
	if err != nil {
		fail("%v", err)
	}
	conn, err := net.ListenUDP("udp4", addr)
	if err != nil {
		fail("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	fmt.Println("ONEWAY-LISTENING")
	err = Receive(ctx, conn, ReceiveOptions{
		Inbox: os.Getenv("SLUICE_ONEWAY_INBOX"),
		Trusted: func(k ssh.PublicKey) (string, bool) {
			return "alpha", bytes.Equal(k.Marshal(), key.Marshal())
		},
		OnEvent: func(e Event) {
			switch e.Kind {
			case EventComplete:
				fmt.Println("ONEWAY-COMPLETE", e.Bundle)
			case EventIncomplete, EventError, EventIgnored:
				fmt.Printf("ONEWAY-FAIL %v %s %v %v\n", e.Kind, e.Bundle, e.Missing, e.Err)
			}
		},
	})
	if err != nil {
		fail("Receive: %v", err)
	}
}

// onewayProbe sends one datagram from the namespace.
func onewayProbe() {
	c, err := net.Dial("udp4", os.Getenv("SLUICE_ONEWAY_TO"))
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	c.Write([]byte("probe")) // dropped by the namespace's rule, with EPERM
	c.Close()
}
