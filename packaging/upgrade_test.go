package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The old release of the upgrade tests, built from this checkout like the new
// one (the checkout's own version, which sorts after it in dpkg and rpm): the
// scripts under test are this checkout's either way, as an upgrade runs the old
// prerm and the new postinst.
const oldRelease = "0.0.1"

// fakeSystemctl stands in for systemctl in a throwaway root: it records every
// call, one line each, in /var/log/systemctl.calls, and answers is-active and
// is-enabled from marker files, so a test says which units are "running".
const fakeSystemctl = `#!/bin/sh
echo "$*" >>/var/log/systemctl.calls
unit=
for a in "$@"; do case "$a" in *.service) unit=$a ;; esac; done
case " $* " in
*" is-active "*) test -e "/var/lib/fake-systemd/$unit.running" ;;
*" is-enabled "*)
	if test -e "/var/lib/fake-systemd/$unit.enabled"; then echo enabled; else echo disabled; exit 1; fi ;;
*" preset "*) mkdir -p /var/lib/fake-systemd && touch "/var/lib/fake-systemd/$unit.enabled" ;;
*" disable "*) rm -f "/var/lib/fake-systemd/$unit.enabled" ;;
esac
exit 0
`

// systemdStandIn makes root look like a system running systemd, with the
// recording systemctl; calls returns and clears what was recorded.
func systemdStandIn(t *testing.T, root string) (calls func() []string) {
	t.Helper()
	for _, d := range []string{"run/systemd/system", "var/lib/fake-systemd", "var/log"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "usr/bin/systemctl"), []byte(fakeSystemctl), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(root, "var/log/systemctl.calls")
	return func() []string {
		b, _ := os.ReadFile(log)
		os.Remove(log)
		s := strings.TrimSpace(string(b))
		if s == "" {
			return nil
		}
		return strings.Split(s, "\n")
	}
}

func markRunning(t *testing.T, root string, units ...string) {
	t.Helper()
	for _, u := range units {
		if err := os.WriteFile(filepath.Join(root, "var/lib/fake-systemd", u+".running"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A package's systemctl calls in each step of its life.
type lifecycle struct {
	pkg, unit, conf          string
	install, upgrade, remove []string
}

// breakConf makes a package's configuration one its binary's -t rejects.
func breakConf(t *testing.T, root, conf string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, conf), []byte("no_such_setting: 1\n"), 0o640); err != nil {
		t.Fatal(err)
	}
}

// dh_installsystemd(1) and Debian Policy §6.5/§6.6: an upgrade must not stop
// the daemon in prerm (that handed the VIP over and, with no start after, left
// the node down); postinst try-restarts it on the new binary. A first install
// enables both units (via systemctl preset) and starts chatd only: vrrpd's
// shipped configuration has no instance yet. Removal stops them.
func TestDebPolicyMaintainerScriptsUpgradeTryRestartNoStop(t *testing.T) {
	need(t, "dpkg-deb", "debootstrap", "chroot", "go")
	oldDist, _ := buildPackages(t, oldRelease)
	newDist, newRelease := buildPackages(t, "")
	if err := exec.Command("dpkg", "--compare-versions", oldRelease, "lt", newRelease).Run(); err != nil {
		t.Fatalf("the checkout's version %s does not sort after %s: change oldRelease", newRelease, oldRelease)
	}
	root := throwawayRoot(t)
	calls := systemdStandIn(t, root)
	preset := func(u string) string { return "--root=/ --system --preset-mode=enable-only preset " + u }
	for _, tc := range []lifecycle{{
		pkg: "hachat-vrrpd", unit: "vrrpd.service", conf: "etc/vrrpd/vrrpd.yaml",
		install: []string{preset("vrrpd.service"), "--system daemon-reload"},
		upgrade: []string{"--system daemon-reload", "try-restart vrrpd.service"},
		// the second reload is deb-systemd-helper's, after masking the unit
		remove: []string{"stop vrrpd.service", "--system daemon-reload", "daemon-reload"},
	}, {
		pkg: "hachat-chatd", unit: "chatd.service", conf: "etc/chatd/chatd.yaml",
		install: []string{preset("chatd.service"), "--system daemon-reload",
			"--system is-enabled -- chatd.service", "--system --quiet is-active -- chatd.service",
			"--quiet --system start chatd.service"},
		upgrade: []string{"--system daemon-reload", "try-restart chatd.service"},
		remove:  []string{"stop chatd.service", "--system daemon-reload", "daemon-reload"},
	}} {
		t.Run(tc.pkg, func(t *testing.T) {
			dpkgI := func(dist string) {
				deb := findPkg(t, dist, tc.pkg, ".deb")
				run(t, "cp", deb, filepath.Join(root, "tmp"))
				run(t, "chroot", root, "dpkg", "-i", "/tmp/"+filepath.Base(deb))
			}
			dpkgI(oldDist)
			if diff := cmp.Diff(tc.install, calls()); diff != "" {
				t.Errorf("first install: systemctl calls (-want +got):\n%s", diff)
			}
			markRunning(t, root, tc.unit)
			dpkgI(newDist)
			if diff := cmp.Diff(tc.upgrade, calls()); diff != "" {
				t.Errorf("upgrade %s -> %s: systemctl calls (-want +got):\n%s", oldRelease, newRelease, diff)
			}
			if out := run(t, "chroot", root, "dpkg-query", "-W", tc.pkg); !strings.Contains(out, newRelease) {
				t.Fatalf("no upgrade happened: %s", out)
			}
			// A configuration the new binary rejects: no restart into a
			// failing unit; the running daemon stays.
			breakConf(t, root, tc.conf)
			dpkgI(newDist)
			if diff := cmp.Diff([]string{"--system daemon-reload"}, calls()); diff != "" {
				t.Errorf("reinstall with a rejected configuration: systemctl calls (-want +got):\n%s", diff)
			}
			run(t, "chroot", root, "dpkg", "-r", tc.pkg)
			if diff := cmp.Diff(tc.remove, calls()); diff != "" {
				t.Errorf("remove: systemctl calls (-want +got):\n%s", diff)
			}
		})
	}
}

// Fedora Packaging Guidelines, "Systemd" scriptlets: %preun stops only on
// erase ($1 = 0), %postun try-restarts on upgrade ($1 >= 1). rpm runs the
// scriptlets chrooted into the throwaway root, where the stand-in records them.
func TestFedoraScriptletsUpgradeTryRestartNoStop(t *testing.T) {
	need(t, "rpm", "debootstrap", "chroot", "go")
	oldDist, _ := buildPackages(t, oldRelease)
	newDist, newRelease := buildPackages(t, "")
	root := throwawayRoot(t)
	calls := systemdStandIn(t, root)
	run(t, "rpm", "--root", root, "--initdb")
	for _, tc := range []lifecycle{
		{pkg: "hachat-vrrpd", unit: "vrrpd.service", conf: "etc/vrrpd/vrrpd.yaml"},
		{pkg: "hachat-chatd", unit: "chatd.service", conf: "etc/chatd/chatd.yaml"},
	} {
		t.Run(tc.pkg, func(t *testing.T) {
			rpmRoot := func(args ...string) { run(t, "rpm", append([]string{"--root", root, "--nodeps"}, args...)...) }
			rpmRoot("-i", findPkg(t, oldDist, tc.pkg, ".rpm"))
			if diff := cmp.Diff([]string{"--no-reload preset " + tc.unit}, calls()); diff != "" {
				t.Errorf("first install: systemctl calls (-want +got):\n%s", diff)
			}
			markRunning(t, root, tc.unit)
			rpmRoot("-U", findPkg(t, newDist, tc.pkg, ".rpm"))
			if diff := cmp.Diff([]string{"daemon-reload", "try-restart " + tc.unit}, calls()); diff != "" {
				t.Errorf("upgrade %s -> %s: systemctl calls (-want +got):\n%s", oldRelease, newRelease, diff)
			}
			breakConf(t, root, tc.conf)
			rpmRoot("-U", "--replacepkgs", findPkg(t, newDist, tc.pkg, ".rpm"))
			if diff := cmp.Diff([]string{"daemon-reload"}, calls()); diff != "" {
				t.Errorf("reinstall with a rejected configuration: systemctl calls (-want +got):\n%s", diff)
			}
			rpmRoot("-e", tc.pkg)
			if diff := cmp.Diff([]string{"--no-reload disable --now " + tc.unit, "daemon-reload"}, calls()); diff != "" {
				t.Errorf("erase: systemctl calls (-want +got):\n%s", diff)
			}
		})
	}
	for _, f := range []string{"usr/sbin/vrrpd", "usr/bin/chatd", "usr/lib/systemd/system/vrrpd.service"} {
		if _, err := os.Stat(filepath.Join(root, f)); err == nil {
			t.Errorf("/%s left after rpm -e", f)
		}
	}
}
