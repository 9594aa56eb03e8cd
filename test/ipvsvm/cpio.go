package ipvsvm

import (
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// cpioWriter writes a cpio "newc" archive (the format the kernel unpacks
// into the initramfs: Documentation/driver-api/early-userspace/
// buffer-format.rst). Every entry is owned by root; directories are
// created on demand, parents first.
type cpioWriter struct {
	w    io.Writer
	ino  uint32
	dirs map[string]bool
	err  error
}

// Mode bits of the entries (from stat(2)).
const (
	sIFDIR  = 0o040000
	sIFREG  = 0o100000
	sIFLNK  = 0o120000
	sIFCHR  = 0o020000
	cpioPad = 4
)

func newCPIO(w io.Writer) *cpioWriter {
	return &cpioWriter{w: w, dirs: map[string]bool{".": true, "/": true}}
}

func (c *cpioWriter) header(name string, mode uint32, size int, rmaj, rmin uint32) {
	if c.err != nil {
		return
	}
	c.ino++
	name = strings.TrimPrefix(name, "/")
	nlink := 1
	if mode&0o170000 == sIFDIR {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, rmaj, rmin, len(name)+1, 0)
	buf := append([]byte(hdr), name...)
	buf = append(buf, 0)
	buf = pad(buf)
	_, c.err = c.w.Write(buf)
}

func pad(b []byte) []byte {
	for len(b)%cpioPad != 0 {
		b = append(b, 0)
	}
	return b
}

func (c *cpioWriter) mkdirAll(dir string) {
	dir = path.Clean("/" + dir)
	if c.dirs[dir] {
		return
	}
	c.mkdirAll(path.Dir(dir))
	c.header(dir, sIFDIR|0o755, 0, 0, 0)
	c.dirs[dir] = true
}

// File adds a regular file with the given content.
func (c *cpioWriter) File(name string, data []byte, perm uint32) {
	c.mkdirAll(path.Dir(name))
	c.header(name, sIFREG|perm, len(data), 0, 0)
	if c.err == nil {
		_, c.err = c.w.Write(pad(append([]byte(nil), data...)))
	}
}

// CopyFile adds the host file src as name, following symlinks.
func (c *cpioWriter) CopyFile(name, src string) {
	b, err := os.ReadFile(src)
	if err != nil {
		if c.err == nil {
			c.err = err
		}
		return
	}
	st, _ := os.Stat(src)
	c.File(name, b, uint32(st.Mode().Perm()))
}

// Symlink adds name pointing at target.
func (c *cpioWriter) Symlink(name, target string) {
	c.mkdirAll(path.Dir(name))
	c.header(name, sIFLNK|0o777, len(target), 0, 0)
	if c.err == nil {
		_, c.err = c.w.Write(pad([]byte(target)))
	}
}

// CharDev adds a character device node.
func (c *cpioWriter) CharDev(name string, major, minor uint32) {
	c.mkdirAll(path.Dir(name))
	c.header(name, sIFCHR|0o600, 0, major, minor)
}

// Dir adds an empty directory.
func (c *cpioWriter) Dir(name string) { c.mkdirAll(name) }

// Close writes the trailer.
func (c *cpioWriter) Close() error {
	c.header("TRAILER!!!", 0, 0, 0, 0)
	return c.err
}

// sortedKeys is for deterministic archives.
func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
