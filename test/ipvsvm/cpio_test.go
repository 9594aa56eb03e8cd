package ipvsvm

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestCPIOReadable checks the archive with the system's cpio reader
// (busybox's), so a bad header shows up here rather than as a kernel that
// cannot find /init.
func TestCPIOReadable(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox not installed (apt-get install busybox-static)")
	}
	var buf bytes.Buffer
	c := newCPIO(&buf)
	c.File("/init", []byte("#!/bin/sh\n"), 0o755)
	c.Symlink("/var/run", "/run")
	c.CharDev("/dev/console", 5, 1)
	c.File("/lib/modules/x/a.ko", []byte("abc"), 0o644)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bb, "cpio", "-t")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -t: %v\n%s", err, out)
	}
	for _, w := range []string{"init", "var/run", "dev/console", "lib/modules/x/a.ko"} {
		if !strings.Contains(string(out), w+"\n") {
			t.Errorf("listing lacks %s:\n%s", w, out)
		}
	}
}
