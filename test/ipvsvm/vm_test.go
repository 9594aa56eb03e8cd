package ipvsvm

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// initScript is the guest's /init: mount the pseudo file systems, load the
// IPVS modules, run the guest tests, print one result line, power off.
const initScript = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /var
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs run /run
mount -t tmpfs tmp /tmp
ln -s /run /var/run
echo "VMINIT: kernel $(uname -r), /init at $(cut -d' ' -f1 /proc/uptime)s"
for m in %s; do modprobe "$m" || echo "VMINIT: modprobe $m FAILED"; done
/usr/sbin/ip link set lo up
# The virtio NIC (the host's TAP) is lan0: Linux 6.1 refuses to create a
# veth named eth0 in another namespace while this one has an eth0.
/usr/sbin/ip link set eth0 name lan0 2>/dev/null
echo 7 > /proc/sys/kernel/printk
T1=$(cut -d' ' -f1 /proc/uptime)
IPVS_VM=1 /guest.test -test.v -test.count=1 -test.timeout=240s %s
RC=$?
T2=$(cut -d' ' -f1 /proc/uptime)
echo "VMINIT: ipvsadm -Ln at the end:"
ipvsadm -Ln
if [ "$RC" = 0 ]; then R=PASS; else R=FAIL; fi
echo "IPVSVM-RESULT: $R rc=$RC kernel=$(uname -r) tests=${T1}s..${T2}s"
sync
poweroff -f
`

// TestIPVSInQEMU boots Debian's kernel and runs test/ipvsvm/guest in it.
func TestIPVSInQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the QEMU run takes about a minute")
	}
	if os.Geteuid() != 0 {
		t.Skip("ipvsvm: skipped: needs root to install QEMU and unpack the kernel package (run as root)")
	}
	start := time.Now()
	if err := ensureTools(t); err != nil {
		t.Skipf("ipvsvm: skipped: cannot install the VM tools: %v", err)
	}
	kt, err := FetchKernel(t.Logf)
	if err != nil {
		t.Skipf("ipvsvm: skipped: cannot get the kernel package linux-image-amd64: %v", err)
	}
	work := t.TempDir()
	guest := filepath.Join(work, "guest.test")
	build := exec.Command("go", "test", "-c", "-ldflags=-s -w", "-o", guest, "./guest")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build guest tests: %v\n%s", err, out)
	}
	// vrrpd itself, for the guest's TestVrrpdOverTAP.
	vrrpd := filepath.Join(work, "vrrpd")
	build = exec.Command("go", "build", "-ldflags=-s -w", "-o", vrrpd, "github.com/hachat/hachat/cmd/vrrpd")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build vrrpd: %v\n%s", err, out)
	}
	initrd := filepath.Join(work, "initrd.gz")
	if err := buildInitramfs(kt, guest, vrrpd, initrd, os.Getenv("IPVSVM_RUN")); err != nil {
		t.Fatalf("initramfs: %v", err)
	}
	t.Logf("kernel %s, initramfs ready after %v", kt.Version, time.Since(start).Round(100*time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The VM's one NIC is a TAP on the bridge of namespaces this test
	// creates (see hostSide): every packet stays in them or in the VM.
	host := newHostSide(t)
	qemu := host.sw.Command(ctx, "qemu-system-x86_64", "-m", "384", "-nographic", "-no-reboot",
		"-netdev", "tap,id=n0,ifname="+tapName+",script=no,downscript=no", "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:c6:12:01",
		"-kernel", kt.Vmlinux, "-initrd", initrd, "-append", "console=ttyS0 panic=-1 quiet")
	qemu.Stdin = nil
	console := newConsoleWatch(tapPhases...)
	// Also stream the console to a file, to follow a long run live.
	logPath := filepath.Join(CacheDir, "console.log")
	var w io.Writer = console
	if f, err := os.Create(logPath); err == nil {
		defer f.Close()
		w = io.MultiWriter(console, f)
		t.Logf("guest console streams to %s", logPath)
	}
	qemu.Stdout, qemu.Stderr = w, w
	boot := time.Now()
	stop := make(chan struct{})
	hits := make(chan map[string][]string, 1)
	go func() { hits <- host.dialPhases(console, stop) }()
	err = qemu.Run()
	close(stop)
	got := <-hits
	out := cleanConsole(console.String())
	t.Logf("guest console (boot + tests took %v):\n%s", time.Since(boot).Round(100*time.Millisecond), out)
	if err != nil {
		t.Fatalf("qemu: %v", err)
	}
	for _, ph := range tapPhases {
		if strings.Contains(out, "--- PASS: "+ph.test) && len(got[ph.name]) != hostDials {
			t.Errorf("%s: the host's connections through the VM's VIP got %v, want %d answers from host-rs1", ph.name, got[ph.name], hostDials)
		}
	}
	t.Logf("host → VM's IPVS → host: %v", got)
	// QEMU exits 0 after poweroff whatever the tests did: only the
	// guest's result line decides.
	if !strings.Contains(out, "IPVSVM-RESULT: PASS") {
		t.Fatalf("the guest tests did not pass (see the console above)")
	}
	t.Logf("total %v", time.Since(start).Round(100*time.Millisecond))
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[a-zA-Z]|\x1bc|\r`)

func cleanConsole(s string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(ansi.ReplaceAllString(s, "")))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			b.WriteString(sc.Text() + "\n")
		}
	}
	return b.String()
}

// ensureTools installs what the runner needs when it is missing.
func ensureTools(t *testing.T) error {
	need := map[string]string{
		"qemu-system-x86_64": "qemu-system-x86", "busybox": "busybox-static", "ipvsadm": "ipvsadm",
		"depmod": "kmod", "modprobe": "kmod", "xz": "xz-utils", "dpkg-deb": "dpkg", "apt-get": "apt",
	}
	var pkgs []string
	for tool, pkg := range need {
		if _, err := exec.LookPath(tool); err != nil {
			pkgs = append(pkgs, pkg)
		}
	}
	if len(pkgs) == 0 {
		return nil
	}
	t.Logf("installing %v", pkgs)
	exec.Command("apt-get", "update", "-qq").Run()
	cmd := exec.Command("apt-get", append([]string{"install", "-y", "-qq", "--no-install-recommends"}, pkgs...)...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get install %v: %w: %s", pkgs, err, out)
	}
	return nil
}

// buildInitramfs writes the guest's initramfs: the image of image.go with
// keepalived when installed, /init, the guest tests and vrrpd.
func buildInitramfs(kt *KernelTree, guest, vrrpd, out, run string) error {
	runArg := ""
	if run != "" {
		runArg = "-test.run='" + run + "'"
	}
	return kt.WriteInitramfs(out, Payload{
		Init:     []byte(fmt.Sprintf(initScript, strings.Join(GuestModules, " "), runArg)),
		Tools:    []string{"ip", "ipvsadm"},
		Optional: []string{"keepalived"}, // the guest's keepalived test skips without it
		Files:    map[string]string{"/guest.test": guest, "/vrrpd": vrrpd},
	})
}
