package guest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/hachat/hachat/ipvs/kernel"
)

// TestBalancerOverTAP runs the VM as a real balancer between machines
// outside it: its virtio NIC is a TAP on a bridge of the host test's
// namespaces (client 198.18.1.10, real server 198.18.2.21), and kernel
// IPVS in the VM NATs the client's connections to the VIP onto the real
// server, whose default route is the VM's back-side address. The host side
// (TestIPVSInQEMU) dials while this test waits for the connections; it is
// the first step of the lab's -dataplane ipvs-vm (docs/lab.md).
func TestBalancerOverTAP(t *testing.T) {
	needVM(t)
	if _, err := net.InterfaceByName("lan0"); err != nil {
		t.Skip("no lan0: the VM was booted without a NIC")
	}
	for _, c := range [][]string{
		{"ip", "link", "set", "lan0", "up"},
		{"ip", "addr", "add", "198.18.1.11/24", "dev", "lan0"},
		{"ip", "addr", "add", "198.18.1.100/24", "dev", "lan0"},
		{"ip", "addr", "add", "198.18.2.254/24", "dev", "lan0"},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", c, err, out)
		}
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	if err := kernel.NoRedirects(); err != nil {
		t.Fatal(err)
	}
	b := newBalancer(t, parse(t, `virtual_servers:
  - name: host
    address: 198.18.1.100:80
    scheduler: rr
    real_servers: [{address: 198.18.2.21:8080}]
`), openKernel(t), nil)
	reconcile(t, b)
	t.Log("GUEST-TAP-READY: the VIP 198.18.1.100:80 balances to 198.18.2.21:8080 on the host")
	// The host dials hostDials times; the kernel's estimator reports them
	// within 2 s.
	const hostDials = 4
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		st := b.Status()
		if len(st) == 1 && st[0].Stats.Connections >= hostDials {
			t.Logf("IPVS saw %d connections from the host", st[0].Stats.Connections)
			t.Logf("ipvsadm -Ln --stats:\n%s", ipvsadm(t, nil, "-Ln", "--stats"))
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the host's connections never came through: %+v\n%s", st, ipvsadm(t, nil, "-Lnc"))
		case <-time.After(200 * time.Millisecond):
		}
	}
}
