package guest

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// vrrpdConfig is the balancer of TestVrrpdOverTAP: the lab's addresses,
// kernel IPVS, one NAT service onto the host's real server.
const vrrpdConfig = `global:
  router_id: lbvm
  control_socket: /run/vrrpd.sock
  dataplane: ipvs
instances:
  - name: lab
    interface: lan0
    vrid: 51
    priority: 150
    advert_interval: 1s
    virtual_addresses: [198.18.1.100/24, 198.18.2.254/24]
virtual_servers:
  - name: host
    address: 198.18.1.100:80
    scheduler: rr
    instance: lab
    check: {type: tcp, interval: 500ms, timeout: 400ms, rise: 1, fall: 2}
    real_servers: [{address: 198.18.2.21:8080}]
`

// TestVrrpdOverTAP runs vrrpd itself in the VM as a balancer between
// machines outside it: the VM's NIC (lan0) is a TAP on a bridge of the host
// test's namespaces (client 198.18.1.10, real server 198.18.2.21). vrrpd
// becomes VRRP master, adds the VIP and the back-side gateway address, and
// programs kernel IPVS to NAT the client's connections onto the real
// server, whose default route is that gateway. The host side
// (TestIPVSInQEMU) dials while this test waits for the connections; a
// SIGTERM then takes the addresses away. It is the core of the lab's
// -dataplane ipvs-vm (docs/lab.md).
func TestVrrpdOverTAP(t *testing.T) {
	needVM(t)
	if _, err := net.InterfaceByName("lan0"); err != nil {
		t.Skip("no lan0: the VM was booted without a NIC")
	}
	for _, c := range [][]string{
		{"ip", "link", "set", "lan0", "up"},
		{"ip", "addr", "add", "198.18.1.11/24", "dev", "lan0"},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", c, err, out)
		}
	}
	// The operator's part for IPVS NAT (vrrpd's kernel data plane turns
	// ICMP redirects off itself, as it must on a one-armed director).
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/tmp/vrrpd.yaml", []byte(vrrpdConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd := exec.Command("/vrrpd", "-f", "/tmp/vrrpd.yaml")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		t.Logf("vrrpd's log:\n%s", log.String())
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	until(ctx, t, "vrrpd to add the VIP", func() bool { return hasAddr(t, "198.18.1.100/24") })
	t.Log("GUEST-TAP-READY vrrpd: vrrpd is master; the VIP 198.18.1.100:80 balances to 198.18.2.21:8080 on the host")
	waitHostConns(ctx, t)

	// "keepalived service stopped": the addresses go with the daemon.
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("vrrpd after SIGTERM: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("vrrpd did not exit after SIGTERM")
	}
	if hasAddr(t, "198.18.1.100/24") {
		t.Error("the VIP stayed on lan0 after vrrpd stopped")
	}
}

// hostDials is how many connections the host makes per phase (see
// test/ipvsvm's tapPhases).
const hostDials = 4

// waitHostConns waits until the VIP's service has counted the host's
// connections; the kernel's estimator reports them within 2 s. (Health
// checks go to the real server directly, not through the service.)
func waitHostConns(ctx context.Context, t *testing.T) {
	t.Helper()
	c := openKernel(t)
	until(ctx, t, "the host's connections through the VIP", func() bool {
		svcs, _ := c.Services()
		for _, s := range svcs {
			if s.Address.String() == "198.18.1.100" && s.Port == 80 && s.Stats.Connections >= hostDials {
				return true
			}
		}
		return false
	})
	t.Logf("ipvsadm -Ln --stats:\n%s", ipvsadm(t, nil, "-Ln", "--stats"))
}

// keepalivedConfig is the paper's balancer for the same service:
// keepalived's VRRP with LVS NAT, scheduler rr, a TCP check.
const keepalivedConfig = `global_defs {
  router_id lbvm
}
vrrp_instance lab {
  state BACKUP
  interface lan0
  virtual_router_id 52
  priority 150
  advert_int 1
  virtual_ipaddress {
    198.18.1.100/24
    198.18.2.254/24
  }
}
virtual_server 198.18.1.100 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.18.2.21 8080 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
`

// TestKeepalivedOverTAP is TestVrrpdOverTAP with the paper's own software:
// Debian's keepalived (VRRP + LVS) in the same VM, on the same kernel,
// balancing the same host connections, so the two can be compared side by
// side. It runs after TestVrrpdOverTAP (whose vrrpd has stopped).
func TestKeepalivedOverTAP(t *testing.T) {
	needVM(t)
	if _, err := net.InterfaceByName("lan0"); err != nil {
		t.Skip("no lan0: the VM was booted without a NIC")
	}
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived is not in the initramfs (not installed on the host: apt-get install keepalived)")
	}
	if !hasAddr(t, "198.18.1.11/24") {
		t.Skip("lan0 is not set up: TestVrrpdOverTAP did not run")
	}
	// A test-only flush: vrrpd leaves its table to the next daemon.
	ipvsadm(t, nil, "-C")
	if err := os.WriteFile("/tmp/keepalived.conf", []byte(keepalivedConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd := exec.Command("keepalived", "--dont-fork", "--log-console", "--log-detail", "-f", "/tmp/keepalived.conf",
		"-p", "/run/keepalived.pid", "-r", "/run/keepalived-vrrp.pid", "-c", "/run/keepalived-checkers.pid")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		t.Logf("keepalived's log:\n%s", log.String())
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	until(ctx, t, "keepalived to add the VIP", func() bool { return hasAddr(t, "198.18.1.100/24") })
	t.Log("GUEST-TAP-READY keepalived: keepalived is master; the VIP 198.18.1.100:80 balances to 198.18.2.21:8080 on the host")
	waitHostConns(ctx, t)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("keepalived did not exit after SIGTERM")
	}
	if hasAddr(t, "198.18.1.100/24") {
		t.Error("the VIP stayed on lan0 after keepalived stopped")
	}
}

func hasAddr(t *testing.T, prefix string) bool {
	t.Helper()
	out, err := exec.Command("ip", "-o", "addr", "show", "dev", "lan0").CombinedOutput()
	if err != nil {
		t.Fatalf("ip addr: %v %s", err, out)
	}
	return strings.Contains(string(out), " "+prefix+" ")
}

// until polls cond every 200 ms until it holds or ctx ends (a failure).
func until(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
