package chatd

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hachat/hachat/chatd/irc"
)

// writeSelfSigned writes a throwaway certificate for 127.0.0.1.
func writeSelfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "chatd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLSListener(t *testing.T) {
	cfg := testConfig("")
	cfg.TLSListen = "127.0.0.1:0"
	cfg.TLSCert, cfg.TLSKey = writeSelfSigned(t)
	n := startNode(t, cfg, nil)
	addrs := n.Addrs()
	if len(addrs) != 2 {
		t.Fatalf("Addrs = %v, want plain and TLS", addrs)
	}
	conn, err := tls.Dial("tcp", addrs[1].String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &tclient{t: t, name: "tls", conn: conn, r: bufio.NewReader(conn)}
	c.register("secure")
	c.send("PING x")
	c.expectCmd("PONG")
}

// TestPeerNudge runs two nodes on one SQLite file with UDP nudges: a commit
// on one node pokes the other's tailer.
func TestPeerNudge(t *testing.T) {
	udp := func() string {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().String()
	}
	ua, ub := udp(), udp()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "chat.db")
	ca, cb := testConfig("nudge-a"), testConfig("nudge-b")
	ca.DSN, cb.DSN = dsn, dsn
	ca.NudgeListen, ca.Peers = ua, []string{ub}
	cb.NudgeListen, cb.Peers = ub, []string{ua}
	// Polling alone would take a second: only the nudge makes delivery quick,
	// but the test only asserts that nudges flow and delivery happens.
	ca.Timers.TailPoll, cb.Timers.TailPoll = time.Second, time.Second
	a := startNode(t, ca, nil)
	b := startNode(t, cb, nil)
	x := dial(t, a.Addr(), "x")
	x.register("nx")
	y := dial(t, b.Addr(), "y")
	y.register("ny")
	// Presence is eventually consistent: wait until node a has applied
	// ny's registration (nudged, or at the latest one poll later).
	waitFor(t, "node a to know ny", func() bool {
		a.mu.RLock()
		defer a.mu.RUnlock()
		return a.users["ny"] != nil
	})
	x.send("PRIVMSG ny :poke")
	y.expectCmd("PRIVMSG", "ny", "poke")
	if v := counterValue(t, b.m.nudgesRecv); v < 1 {
		t.Errorf("node b received %v nudges, want >= 1", v)
	}
}

func TestTagmsgAndJoinZero(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := dial(t, n.Addr(), "a")
	a.register("ta", "message-tags")
	b := dial(t, n.Addr(), "b")
	b.register("tb", "message-tags")
	c := dial(t, n.Addr(), "c")
	c.register("tc") // no message-tags: must not get TAGMSG
	for _, x := range []*tclient{a, b, c} {
		x.join("#tag")
	}
	a.send("@+typing=active TAGMSG #tag")
	m := b.expectCmd("TAGMSG", "#tag")
	if v, _ := m.Tag("+typing"); v != "active" {
		t.Errorf("+typing = %q", v)
	}
	a.send("PRIVMSG #tag :after")
	_, before := c.expect("PRIVMSG after", func(m irc.Message) bool { return m.Command == "PRIVMSG" })
	for _, m := range before {
		if m.Command == "TAGMSG" {
			t.Errorf("client without message-tags got %v", m)
		}
	}
	a.send("JOIN 0")
	a.expectCmd("PART", "#tag")
	a.send("NAMES #tag")
	if m := a.expectCmd(rplNamReply); m.Param(3) != "@tb tc" && m.Param(3) != "tb tc" {
		t.Errorf("NAMES after JOIN 0 = %q", m.Param(3))
	}
}
