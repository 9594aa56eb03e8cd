package ipvsvm

import (
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Payload is what an initramfs carries besides the kernel's modules and
// busybox: /init, tools from the host's PATH with their shared libraries
// (ldd), and files.
type Payload struct {
	Init     []byte
	Tools    []string          // required, copied to /usr/sbin
	Optional []string          // copied when installed
	Files    map[string]string // path in the image → host file
}

// WriteInitramfs writes a gzipped cpio (newc) to out: busybox, the modules
// of GuestModules with their dependencies and modprobe's index files, and
// p. Library users: test/ipvsvm's own guest tests and the lab's balancer
// VMs.
func (kt *KernelTree) WriteInitramfs(out string, p Payload) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	c := newCPIO(zw)
	for _, d := range []string{"/proc", "/sys", "/run", "/tmp", "/etc", "/var"} {
		c.Dir(d)
	}
	c.CharDev("/dev/console", 5, 1)
	c.CharDev("/dev/null", 1, 3)
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return err
	}
	c.CopyFile("/bin/busybox", bb)
	if err := copyTools(c, p.Tools, p.Optional); err != nil {
		return err
	}
	mods, err := kt.modules()
	if err != nil {
		return err
	}
	mdir := filepath.Join(kt.Root, "lib/modules", kt.Version)
	for _, m := range mods {
		c.CopyFile(strings.TrimPrefix(m, kt.Root), m)
	}
	// modules.dep and friends for busybox modprobe: the full tree's index
	// lists modules the initramfs lacks, which is harmless.
	for _, n := range []string{"modules.dep", "modules.alias", "modules.symbols", "modules.builtin", "modules.order", "modules.softdep"} {
		if _, err := os.Stat(filepath.Join(mdir, n)); err == nil {
			c.CopyFile(filepath.Join("/lib/modules", kt.Version, n), filepath.Join(mdir, n))
		}
	}
	c.File("/init", p.Init, 0o755)
	for _, dst := range sortedKeys(p.Files) {
		c.CopyFile(dst, p.Files[dst])
	}
	if err := c.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// copyTools copies tools and their shared libraries (as ldd lists them).
func copyTools(c *cpioWriter, tools, optional []string) error {
	libs := map[string]string{}
	for i, tool := range append(append([]string{}, tools...), optional...) {
		p, err := exec.LookPath(tool)
		if err != nil && i >= len(tools) {
			continue
		}
		if err != nil {
			return err
		}
		c.CopyFile("/usr/sbin/"+tool, p)
		ldd, err := exec.Command("ldd", p).Output()
		if err != nil {
			return fmt.Errorf("ldd %s: %w", p, err)
		}
		for _, l := range strings.Split(string(ldd), "\n") {
			f := strings.Fields(l)
			switch {
			case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
				libs[f[2]] = f[2]
			case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
				libs[f[0]] = f[0]
			}
		}
	}
	for _, l := range sortedKeys(libs) {
		c.CopyFile(l, l)
	}
	return nil
}
