package diode_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os/signal"
	"syscall"

	"golang.org/x/crypto/ssh"

	"sluice/transfer/diode"
)

// The sending side: one session of two bundles at 500 Mbit/s with 25 %
// parity, twice. A connected socket hears of refused packets (counted).
func ExampleSend() {
	var signer ssh.Signer // the station's signing key
	conn, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.ParseIP("192.0.2.10"), Port: 7000})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	rep, err := diode.Send(context.Background(), conn,
		[]string{"out/20261130T051756Z-ca3a976e6a510086.sluice", "out/20261130T052011Z-0b1c2d3e4f506172.sluice"},
		diode.SendOptions{Rate: 500e6, Overhead: 0.25, Passes: 2, Station: "alpha", Signer: signer})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("session %s: %d packets at %.0f Mbit/s, %d refused\n", rep.Session, rep.Packets, rep.Rate()/1e6, rep.SendErrors)
}

// The receiving side: write bundles into an inbox until interrupted,
// trusting the stations a trust store knows.
func ExampleReceive() {
	trusted := func(k ssh.PublicKey) (string, bool) { return "", false } // the trust store's lookup
	conn, err := net.ListenUDP("udp", &net.UDPAddr{Port: 7000})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err = diode.Receive(ctx, conn, diode.ReceiveOptions{Inbox: "/srv/inbox", Trusted: trusted,
		OnEvent: func(e diode.Event) {
			switch e.Kind {
			case diode.EventComplete:
				fmt.Println("arrived", e.Bundle, "from", e.Station)
			case diode.EventIncomplete:
				fmt.Println("incomplete", e.Bundle, "missing blocks", e.Missing)
			case diode.EventIgnored:
				fmt.Println("ignored announcement:", e.Reason)
			}
		}})
	if err != nil {
		log.Fatal(err)
	}
}

// What an inbox has and lacks (sluice diode status).
func ExampleStatus() {
	states, err := diode.Status("/srv/inbox")
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range states {
		if s.Complete {
			fmt.Println(s.ID, "complete")
			continue
		}
		fmt.Printf("%s: %d of %d blocks, missing %v (%d bytes)\n", s.ID, s.Have, s.Blocks, s.Missing, s.MissingBytes)
	}
}
