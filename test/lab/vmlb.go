package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hachat/hachat/test/ipvsvm"
)

// -dataplane ipvs-vm (issue #16): lb1 and lb2 are QEMU (TCG) VMs running
// Debian's own kernel, the one test/ipvsvm downloads, each with vrrpd on
// kernel IPVS; their NICs are TAP devices on the lab's bridge, created in
// the switch namespace, so the client, the chat servers and the database
// stay namespaces and every packet stays in the lab. The guest's /init
// serves a control line on its second serial port (a unix socket on the
// host, vmctl.go): stop and start vrrpd, its balancer status (vrrpctl in
// the guest), whether it holds the VIP. So the failover trials run too.

const dataplaneVM = "ipvs-vm"

// dataplaneKeepalivedVM runs the paper's own software in the same VMs:
// Debian's keepalived (VRRP + LVS), configured like vrrpd (keepalived.go).
const dataplaneKeepalivedVM = "keepalived-vm"

// vmMode reports whether the balancers are VMs.
func (t *Topology) vmMode() bool {
	return t.Dataplane == dataplaneVM || t.Dataplane == dataplaneKeepalivedVM
}

// vmDataPlane names what the VMs run, for the report.
func (t *Topology) vmDataPlane() string {
	if t.Dataplane == dataplaneKeepalivedVM {
		return "keepalived + LVS (kernel IPVS in QEMU VMs)"
	}
	return "vrrpd + IPVS (kernel IPVS in QEMU VMs)"
}

// vmDaemon is the balancer daemon's command line in the guest, and the
// command that prints its status.
func (t *Topology) vmDaemon() (run, status string) {
	if t.Dataplane == dataplaneKeepalivedVM {
		return "keepalived --dont-fork --log-console -f /keepalived.conf -p /run/keepalived.pid -r /run/vrrp.pid -c /run/checkers.pid",
			"ipvsadm -Ln"
	}
	return "/vrrpd -f /vrrpd.yaml", "/vrrpctl -s /run/vrrpd.sock balancer --json"
}

// vmInit is a balancer VM's /init: modules, the lab addresses on the NIC
// (lan0), forwarding, then vrrpd until it exits.
const vmInit = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /var
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs run /run
mount -t tmpfs tmp /tmp
for m in %[1]s; do modprobe "$m" || echo "LABVM: modprobe $m FAILED"; done
ip link set lo up
ip link set eth0 name lan0
ip link set lan0 up
for a in %[2]s; do ip addr add "$a" dev lan0; done
echo 1 > /proc/sys/net/ipv4/ip_forward
# The sync daemon's re-send rule (lvssync.go): %[7]s
echo "3 %[8]d" > /proc/sys/net/ipv4/vs/sync_threshold
echo %[9]d > /proc/sys/net/ipv4/vs/sync_refresh_period
echo "LABVM: %[3]s up at $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r)"
%[5]s &
pid=$!
# The control line (ttyS1): "<id> <command>", answered by output lines and
# "<id> END <status>".
stty -F /dev/ttyS1 raw -echo
exec 3<>/dev/ttyS1
while read -r id cmd <&3; do
  rc=0
  case "$cmd" in
  stop) kill -TERM $pid; wait $pid; rc=$? ;;
  start) %[5]s & pid=$! ;;
  running) if kill -0 $pid 2>/dev/null; then echo yes >&3; else echo no >&3; fi ;;
  status) %[6]s >&3; rc=$? ;;
  vip) ip -o addr show dev lan0 | grep -c " %[4]s/" >&3 ;;
  "sh "*) eval "${cmd#sh }" >&3 2>&1; rc=$? ;;
  *) rc=127 ;;
  esac
  echo "$id END $rc" >&3
done
poweroff -f
`

// startVMBalancers builds each balancer's initramfs and boots it.
func (t *Topology) startVMBalancers(ctx context.Context) error {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		return fmt.Errorf("-dataplane %s: qemu-system-x86_64 is not installed (scripts/install-deps.sh): %w", dataplaneVM, err)
	}
	kt, err := ipvsvm.FetchKernel(func(f string, a ...any) { fmt.Fprintf(t.log, "lab: "+f+"\n", a...) })
	if err != nil {
		return fmt.Errorf("-dataplane %s: %w", dataplaneVM, err)
	}
	vrrpd := filepath.Join(t.Bin, "vrrpd")
	for i, lb := range []string{"lb1", "lb2"} {
		if err := t.writeVrrpdConfig(lb); err != nil {
			return err
		}
		b, err := os.ReadFile(t.vrrpdConfig(lb))
		if err != nil {
			return err
		}
		// The namespace configuration, moved into the VM: its NIC, kernel
		// IPVS, a control socket of its own; and the LVS way of keeping
		// sessions across a takeover, the paper's: scheduler rr and the
		// kernel's connection-sync daemon following the VRRP role (kernel
		// IPVS schedules only a SYN, so mh alone does not keep them).
		cfg := strings.NewReplacer("interface: eth0", "interface: lan0", "dataplane: auto", "dataplane: ipvs",
			t.vrrpdSocket(lb), "/run/vrrpd.sock", "scheduler: mh", "scheduler: rr").Replace(string(b)) +
			"lvs_sync: {instance: chat, interface: lan0}\n"
		cfgPath := filepath.Join(t.Lab.Dir(), lb+"-vm-vrrpd.yaml")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			return err
		}
		// The image (about 33 MB) goes with the run's temporary directory,
		// not the results: its inputs are in the logs.
		initrd := filepath.Join(t.sockDir, lb+"-initrd.gz")
		run, status := t.vmDaemon()
		period, refresh, why := t.syncResend()
		init := fmt.Sprintf(vmInit, strings.Join(ipvsvm.GuestModules, " "), strings.Join(hostAddrs[lb], " "), lb, vipAddr, run, status,
			why, period, refresh)
		pl := ipvsvm.Payload{Init: []byte(init), Tools: []string{"ip", "ipvsadm"},
			Files: map[string]string{"/vrrpd": vrrpd, "/vrrpctl": filepath.Join(t.Bin, "vrrpctl"), "/vrrpd.yaml": cfgPath}}
		if t.Dataplane == dataplaneKeepalivedVM {
			kc := filepath.Join(t.Lab.Dir(), lb+"-keepalived.conf")
			if err := os.WriteFile(kc, []byte(keepalivedConf(lb)), 0o644); err != nil {
				return err
			}
			pl.Tools = append(pl.Tools, "keepalived")
			pl.Files["/keepalived.conf"] = kc
		}
		if err := kt.WriteInitramfs(initrd, pl); err != nil {
			return fmt.Errorf("%s: initramfs: %w", lb, err)
		}
		for _, argv := range [][]string{
			{"ip", "tuntap", "add", "dev", lb, "mode", "tap"},
			{"ip", "link", "set", "dev", lb, "master", "br0", "up"},
		} {
			if out, err := t.Switch.Run(ctx, argv...); err != nil {
				return fmt.Errorf("%s: %w %s", lb, err, out)
			}
		}
		if err := t.captureTAP(lb); err != nil {
			return err
		}
		ctl := filepath.Join(t.sockDir, lb+".ctl")
		p, err := t.Switch.Start(context.Background(), "qemu-"+lb, "qemu-system-x86_64", "-m", "256", "-nographic", "-no-reboot",
			"-serial", "stdio", "-chardev", "socket,id=ctl,path="+ctl+",server=on,wait=off", "-serial", "chardev:ctl",
			"-qmp", "unix:"+filepath.Join(t.sockDir, lb+".qmp")+",server=on,wait=off",
			"-netdev", "tap,id=n0,ifname="+lb+",script=no,downscript=no",
			"-device", fmt.Sprintf("virtio-net-pci,netdev=n0,mac=52:54:00:c6:12:%02x", 11+i),
			"-kernel", kt.Vmlinux, "-initrd", initrd, "-append", "console=ttyS0 panic=-1 quiet")
		if err != nil {
			return err
		}
		t.vms[lb] = p
		t.vmctl[lb] = &vmCtl{path: ctl}
		// The VM is the machine: its whole CPU, its kernel's NAT included,
		// is in the machine's budget.
		if err := t.budget(lb, p.PID()); err != nil {
			return err
		}
	}
	fmt.Fprintf(t.log, "lab: lb1 and lb2 boot as QEMU VMs (kernel %s, TCG), consoles in %s/sw/qemu-lb*.log\n", kt.Version, t.Lab.Dir())
	return nil
}

// waitVMService waits until lb1 is VRRP master and the chat service
// answers through the VIP: a TCG boot takes tens of seconds on a busy
// machine. lb1 first: the VMs boot side by side, and when lb2's timer runs
// out first it is master until lb1 preempts it; a session opened on lb2
// then dies at the takeover, since kernel IPVS schedules only a SYN
// (net.ipv4.vs.sloppy_tcp=0) and lb2 did not sync the connection.
func (t *Topology) waitVMService(ctx context.Context, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for !strings.Contains(t.vms["lb1"].Log(), "to=MASTER") && !strings.Contains(t.vms["lb1"].Log(), "Entering MASTER STATE") {
		if t.vms["lb1"].Exited() {
			return fmt.Errorf("lb1's VM exited:\n%s", tail(t.vms["lb1"].Log(), 20))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lb1's vrrpd never became master:\n%s", tail(t.vms["lb1"].Log(), 20))
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err := waitReachable(ctx, t.Client(), vipChat); err != nil {
		var logs []string
		for lb, p := range t.vms {
			logs = append(logs, lb+":\n"+tail(p.Log(), 15))
		}
		return fmt.Errorf("the VMs' VIP %s does not answer: %w\n%s", vipChat, err, strings.Join(logs, "\n"))
	}
	return nil
}
