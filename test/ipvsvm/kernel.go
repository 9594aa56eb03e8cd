package ipvsvm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// CacheDir holds the unpacked kernels between runs.
const CacheDir = "/var/cache/hachat-ipvsvm"

// completeMarker marks a finished unpack; its name changes when the set of
// unpacked files does (v2: the virtio NIC modules), so older caches are
// unpacked again.
const completeMarker = ".complete-v2"

// GuestModules are loaded by /init, in this order; modprobe adds their
// dependencies. crc32c_generic comes first: libcrc32c (needed by ip_vs via
// nf_conntrack) only has a softdep on it, which busybox modprobe ignores.
var GuestModules = []string{
	"crc32c_generic", "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_sh", "ip_vs_mh",
	"veth", "bridge", "nf_tables", "virtio_pci", "virtio_net",
}

// KernelTree is the part of the kernel package the VM needs.
type KernelTree struct {
	Version string // e.g. 6.1.0-56-amd64
	Root    string // unpacked package root
	Vmlinux string // the kernel image to boot
}

// kernelPackage resolves the current ABI package behind linux-image-amd64
// (its name changes with every security update).
func kernelPackage() (string, error) {
	for try := 0; try < 2; try++ {
		out, _ := exec.Command("apt-cache", "depends", "linux-image-amd64").Output()
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
				return f[1], nil
			}
		}
		if try == 0 {
			exec.Command("apt-get", "update", "-qq").Run()
		}
	}
	return "", errors.New("apt-cache cannot resolve linux-image-amd64")
}

// FetchKernel downloads and unpacks the kernel package into the cache
// (only the image and the modules the VM loads), unless it is there.
func FetchKernel(logf func(string, ...any)) (*KernelTree, error) {
	pkg, err := kernelPackage()
	if err != nil {
		return nil, err
	}
	kv := strings.TrimPrefix(pkg, "linux-image-")
	root := filepath.Join(CacheDir, "kroot-"+kv)
	kt := &KernelTree{Version: kv, Root: root, Vmlinux: filepath.Join(root, "vmlinux")}
	if _, err := os.Stat(filepath.Join(root, completeMarker)); err == nil {
		return kt, nil
	}
	logf("downloading and unpacking %s into %s", pkg, root)
	if err := os.MkdirAll(CacheDir, 0o755); err != nil {
		return nil, err
	}
	os.RemoveAll(root)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	dl := exec.Command("apt-get", "download", "-q", pkg)
	dl.Dir = CacheDir
	if out, err := dl.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("apt-get download %s: %w: %s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(CacheDir, pkg+"_*.deb"))
	if len(debs) == 0 {
		return nil, fmt.Errorf("apt-get download %s left no .deb in %s", pkg, CacheDir)
	}
	defer func() {
		for _, d := range debs {
			os.Remove(d)
		}
	}()
	// Only what the VM needs: 15 MB instead of 400.
	script := `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards \
	  './boot/vmlinuz-*' './lib/modules/*/modules.*' './lib/modules/*/kernel/net/netfilter/*' \
	  './lib/modules/*/kernel/net/ipv4/netfilter/nf_defrag*' './lib/modules/*/kernel/net/ipv6/netfilter/nf_defrag*' \
	  './lib/modules/*/kernel/lib/libcrc32c.ko' './lib/modules/*/kernel/crypto/crc32c*' \
	  './lib/modules/*/kernel/arch/x86/crypto/crc32c*' './lib/modules/*/kernel/drivers/net/veth.ko' \
	  './lib/modules/*/kernel/net/bridge/bridge.ko' './lib/modules/*/kernel/net/802/*' './lib/modules/*/kernel/net/llc/*' \
	  './lib/modules/*/kernel/drivers/virtio/*' './lib/modules/*/kernel/drivers/net/virtio_net.ko' \
	  './lib/modules/*/kernel/drivers/net/net_failover.ko' './lib/modules/*/kernel/net/core/failover.ko'`
	if out, err := exec.Command("sh", "-c", script, "sh", debs[0], root).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("unpack %s: %w: %s", debs[0], err, out)
	}
	if out, err := exec.Command("depmod", "-b", root, kv).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("depmod: %w: %s", err, out)
	}
	// Boot the uncompressed vmlinux through its PVH entry: under TCG that
	// saves the 2-3 s the guest spends decompressing vmlinuz.
	if err := extractVmlinux(filepath.Join(root, "boot", "vmlinuz-"+kv), kt.Vmlinux); err != nil {
		logf("no vmlinux (%v): booting vmlinuz", err)
		kt.Vmlinux = filepath.Join(root, "boot", "vmlinuz-"+kv)
	}
	if err := os.WriteFile(filepath.Join(root, completeMarker), nil, 0o644); err != nil {
		return nil, err
	}
	return kt, nil
}

// extractVmlinux finds the xz stream inside a bzImage and decompresses it.
func extractVmlinux(bz, out string) error {
	b, err := os.ReadFile(bz)
	if err != nil {
		return err
	}
	i := bytes.Index(b, []byte{0xfd, '7', 'z', 'X', 'Z', 0})
	if i < 0 {
		return errors.New("no xz stream in the kernel image")
	}
	// xz(1) rather than a Go decoder: the stream is followed by other data,
	// which xz reports as an error after writing the whole image.
	var buf bytes.Buffer
	cmd := exec.Command("xz", "-dc")
	cmd.Stdin = bytes.NewReader(b[i:])
	cmd.Stdout = &buf
	cmd.Run()
	if !bytes.HasPrefix(buf.Bytes(), []byte("\x7fELF")) {
		return errors.New("the xz payload is not an ELF image")
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// modules lists the .ko files of GuestModules and their dependencies.
func (kt *KernelTree) modules() ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, m := range GuestModules {
		b, err := exec.Command("modprobe", "-d", kt.Root, "-S", kt.Version, "--show-depends", m).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("modprobe --show-depends %s: %w: %s", m, err, b)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "insmod" && !seen[f[1]] {
				seen[f[1]] = true
				out = append(out, f[1])
			}
		}
	}
	return out, nil
}
