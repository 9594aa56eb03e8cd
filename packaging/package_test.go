// Package packaging holds the systemd units, default configs, man pages and
// nfpm definitions of the deb and rpm packages, and the test that builds them,
// installs them into a throwaway Debian root and removes them again.
package packaging

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// rootCache is a debootstrapped Debian 12 minbase, made once per machine and
// copied for each test run (the copy is the throwaway root).
const rootCache = "/var/cache/hachat/bookworm-minbase"

func need(t *testing.T, tools ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("packaging test builds and installs packages: skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("packaging test needs root (chroot, dpkg); run as root")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("packaging test needs %s (scripts/install-deps.sh installs it)", tool)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// builds holds the package sets built so far, by requested version (""
// for the checkout's own); tests share them, TestMain removes them.
var (
	buildMu sync.Mutex
	builds  = map[string]build{}
)

type build struct{ dir, version string }

// buildPackages runs build.sh once per version and test binary and returns
// the directory of the packages and their version (VERSION overrides the one
// git gives; that one is read once, so a commit during the run changes nothing).
func buildPackages(t *testing.T, version string) (dir, builtVersion string) {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := builds[version]; ok {
		return b.dir, b.version
	}
	builtVersion = version
	if builtVersion == "" {
		builtVersion = strings.TrimSpace(run(t, "./version.sh"))
	}
	dir, err := os.MkdirTemp("", "hachat-dist-")
	if err != nil {
		t.Fatal(err)
	}
	builds[version] = build{dir, builtVersion}
	cmd := exec.Command("bash", "build.sh", dir)
	cmd.Env = append(os.Environ(), "VERSION="+builtVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh (VERSION=%s): %v\n%s", builtVersion, err, out)
	}
	return dir, builtVersion
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, b := range builds {
		os.RemoveAll(b.dir)
	}
	os.Exit(code)
}

func findPkg(t *testing.T, dir, name, ext string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, name+"*"+ext))
	if len(m) != 1 {
		t.Fatalf("want one %s*%s in %s, found %v", name, ext, dir, m)
	}
	return m[0]
}

// throwawayRoot returns a fresh copy of a Debian minbase root.
func throwawayRoot(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(rootCache, "usr/bin/dpkg")); err != nil {
		tmp := rootCache + ".tmp"
		os.RemoveAll(tmp)
		run(t, "debootstrap", "--variant=minbase", "bookworm", tmp, "http://deb.debian.org/debian")
		if err := os.Rename(tmp, rootCache); err != nil {
			t.Fatal(err)
		}
	}
	root := filepath.Join(t.TempDir(), "root")
	run(t, "cp", "-a", rootCache, root)
	return root
}

func TestDebInstallVerifyRemovePurge(t *testing.T) {
	need(t, "dpkg-deb", "debootstrap", "chroot", "systemd-analyze", "go")
	dist, version := buildPackages(t, "")
	root := throwawayRoot(t)
	chroot := func(args ...string) string { return run(t, "chroot", append([]string{root}, args...)...) }

	debs := map[string]string{}
	for _, p := range []string{"hachat-vrrpd", "hachat-chatd", "hachat-chatload"} {
		deb := findPkg(t, dist, p, ".deb")
		debs[p] = deb
		run(t, "cp", deb, filepath.Join(root, "tmp"))
		chroot("dpkg", "-i", "/tmp/"+filepath.Base(deb))
	}

	for _, f := range []string{
		"usr/sbin/vrrpd", "usr/sbin/vrrpctl", "usr/bin/chatd", "usr/bin/chatload",
		"usr/lib/systemd/system/vrrpd.service", "usr/lib/systemd/system/chatd.service",
		"usr/lib/sysusers.d/chatd.conf", "usr/lib/tmpfiles.d/vrrpd.conf",
		"etc/vrrpd/vrrpd.yaml", "etc/chatd/chatd.yaml",
		"usr/share/man/man8/vrrpd.8.gz", "usr/share/man/man8/vrrpctl.8.gz", "usr/share/man/man8/chatd.8.gz",
		"usr/share/man/man1/chatload.1.gz", "usr/share/man/man5/vrrpd.yaml.5.gz", "usr/share/man/man5/chatd.yaml.5.gz",
	} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("installed package lacks /%s: %v", f, err)
		}
	}
	// Maintainer scripts: both units are enabled on install (deb-systemd-helper
	// makes the links itself where systemctl is absent).
	wants := []string{"etc/systemd/system/multi-user.target.wants/vrrpd.service", "etc/systemd/system/multi-user.target.wants/chatd.service"}
	for _, l := range wants {
		if _, err := os.Lstat(filepath.Join(root, l)); err != nil {
			t.Errorf("unit not enabled on install: %v", err)
		}
	}
	// The chatd user exists and owns its state directory.
	if out := chroot("getent", "passwd", "chatd"); !strings.Contains(out, "/usr/sbin/nologin") {
		t.Errorf("chatd user: %q", out)
	}
	if out := chroot("stat", "-c", "%U %a", "/var/lib/chatd"); strings.TrimSpace(out) != "chatd 700" {
		t.Errorf("/var/lib/chatd: owner and mode %q, want chatd 700", out)
	}
	// Every binary reports the package's version (the linker flag of build.sh
	// reaches them all).
	for _, bin := range []string{"/usr/sbin/vrrpd", "/usr/sbin/vrrpctl", "/usr/bin/chatd", "/usr/bin/chatload"} {
		want := filepath.Base(bin) + " " + version + " ("
		if out := chroot(bin, "--version"); !strings.HasPrefix(out, want) {
			t.Errorf("%s --version: %q, want it to start %q", bin, out, want)
		}
	}
	// The shipped configurations are valid for the shipped binaries.
	chroot("/usr/sbin/vrrpd", "-t", "-f", "/etc/vrrpd/vrrpd.yaml")
	chroot("/usr/bin/chatd", "-t", "-config", "/etc/chatd/chatd.yaml")
	// Man pages render without warnings.
	for _, page := range []string{"man8/vrrpd.8.gz", "man8/vrrpctl.8.gz", "man8/chatd.8.gz", "man1/chatload.1.gz", "man5/vrrpd.yaml.5.gz", "man5/chatd.yaml.5.gz"} {
		out := run(t, "sh", "-c", "zcat "+filepath.Join(root, "usr/share/man", page)+" | groff -man -Tutf8 -ww -z 2>&1")
		if strings.TrimSpace(out) != "" {
			t.Errorf("%s: groff warnings:\n%s", page, out)
		}
	}

	// The units: systemd-analyze verify against the root. systemd itself is
	// not in the minbase root, so its targets are lent from the host.
	targets, _ := filepath.Glob("/usr/lib/systemd/system/*.target")
	for _, tg := range targets {
		run(t, "cp", "-n", tg, filepath.Join(root, "usr/lib/systemd/system/"))
	}
	for _, u := range []string{"vrrpd.service", "chatd.service"} {
		run(t, "systemd-analyze", "verify", "--man=no", "--root="+root, "/usr/lib/systemd/system/"+u)
	}
	for unit, most := range map[string]float64{"chatd.service": 2.0, "vrrpd.service": 2.5} {
		if exposure := securityExposure(t, filepath.Join(root, "usr/lib/systemd/system", unit)); exposure > most {
			t.Errorf("systemd-analyze security: %s exposure %.1f, want at most %.1f", unit, exposure, most)
		}
	}

	// Remove keeps conffiles; purge removes everything.
	chroot("dpkg", "-r", "hachat-vrrpd", "hachat-chatd", "hachat-chatload")
	for _, f := range []string{"usr/sbin/vrrpd", "usr/bin/chatd", "usr/bin/chatload", "usr/lib/systemd/system/chatd.service"} {
		if _, err := os.Stat(filepath.Join(root, f)); err == nil {
			t.Errorf("/%s still there after dpkg -r", f)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "etc/chatd/chatd.yaml")); err != nil {
		t.Errorf("dpkg -r removed the conffile /etc/chatd/chatd.yaml: %v", err)
	}
	chroot("dpkg", "-P", "hachat-vrrpd", "hachat-chatd", "hachat-chatload")
	for _, f := range append([]string{"etc/chatd", "etc/vrrpd", "var/lib/chatd"}, wants...) {
		if _, err := os.Lstat(filepath.Join(root, f)); err == nil { // Lstat: the links point into the root
			t.Errorf("/%s still there after dpkg -P", f)
		}
	}
	if out := chroot("dpkg-query", "-W", "-f", "${db:Status-Abbrev}${binary:Package}\n"); strings.Contains(out, "hachat") {
		t.Errorf("dpkg still knows the packages after purge:\n%s", out)
	}
}

func securityExposure(t *testing.T, unit string) float64 {
	t.Helper()
	cmd := exec.Command("systemd-analyze", "security", "--offline=yes", "--no-pager", unit)
	out, _ := cmd.CombinedOutput() // exits non-zero above its threshold; the figure is what counts
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security printed no exposure level:\n%s", out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func TestRPMContents(t *testing.T) {
	need(t, "rpm", "rpmbuild", "rpm2cpio", "cpio", "go")
	dist, _ := buildPackages(t, "")
	want := map[string][]string{
		"hachat-vrrpd":    {"/usr/sbin/vrrpd", "/usr/sbin/vrrpctl", "/usr/lib/systemd/system/vrrpd.service", "/etc/vrrpd", "/etc/vrrpd/vrrpd.yaml", "/usr/share/man/man8/vrrpd.8.gz"},
		"hachat-chatd":    {"/usr/bin/chatd", "/usr/lib/systemd/system/chatd.service", "/usr/lib/sysusers.d/chatd.conf", "/etc/chatd", "/etc/chatd/chatd.yaml"},
		"hachat-chatload": {"/usr/bin/chatload", "/usr/share/man/man1/chatload.1.gz"},
	}
	for name, files := range want {
		pkg := findPkg(t, dist, name, ".rpm")
		list := run(t, "rpm", "-qpl", pkg)
		for _, f := range files {
			if !strings.Contains(list, f+"\n") {
				t.Errorf("%s lacks %s; it has:\n%s", filepath.Base(pkg), f, list)
			}
		}
		if cfg := run(t, "rpm", "-qpc", pkg); name != "hachat-chatload" && !strings.Contains(cfg, "/etc/") {
			t.Errorf("%s marks no config file: %q", name, cfg)
		}
		info := run(t, "rpm", "-qpi", pkg)
		if !strings.Contains(info, "Name        : "+name) {
			t.Errorf("%s: rpm -qpi:\n%s", name, info)
		}
		if name == "hachat-chatd" && !strings.Contains(run(t, "rpm", "-qp", "--scripts", pkg), "sysusers") {
			t.Errorf("%s: no postinstall creating the chatd user", name)
		}
		for _, f := range strings.Fields(list) {
			if strings.HasPrefix(f, "/usr/share/man/") && !strings.Contains(run(t, "rpm", "-qpd", pkg), f+"\n") {
				t.Errorf("%s: man page %s is not marked as documentation", name, f)
			}
		}
		checkCpioPayload(t, pkg)
	}
}

// checkCpioPayload: the payload names files ./usr/..., as rpmbuild writes it,
// so `rpm2cpio x.rpm | cpio -id` unpacks into the current directory, not /.
func checkCpioPayload(t *testing.T, pkg string) {
	t.Helper()
	for _, name := range strings.Fields(run(t, "sh", "-c", "rpm2cpio "+pkg+" | cpio -t --quiet")) {
		if !strings.HasPrefix(name, "./") {
			t.Errorf("%s: payload member %q is not relative (./...)", filepath.Base(pkg), name)
		}
	}
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", "rpm2cpio "+pkg+" | cpio -id --quiet")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpm2cpio | cpio -id: %v\n%s", err, out)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "usr/*bin/*")); len(m) == 0 {
		t.Errorf("%s: rpm2cpio | cpio -id put no binary under the current directory", filepath.Base(pkg))
	}
}
