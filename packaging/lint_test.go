package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/packaging/manpage"
)

// needLinter skips with a message when a linter is absent; the package build
// itself needs root's tools like the other tests.
func needLinter(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s is not installed (scripts/install-deps.sh installs it): package not linted", tool)
	}
}

// Debian Policy as lintian checks it: no error and no warning. The only
// overrides are in packaging/debian/*.lintian-overrides, each with its reason.
func TestDebianPolicyLintianClean(t *testing.T) {
	need(t, "go", "dpkg-deb")
	needLinter(t, "lintian")
	dist, _ := buildPackages(t, "")
	debs, _ := filepath.Glob(filepath.Join(dist, "*.deb"))
	if len(debs) != 3 {
		t.Fatalf("want 3 debs, got %v", debs)
	}
	cmd := exec.Command("lintian", append([]string{"--tag-display-limit", "0"}, debs...)...)
	out, _ := cmd.CombinedOutput() // exits non-zero on errors; the tags are what count
	var tags []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "E: ") || strings.HasPrefix(l, "W: ") {
			tags = append(tags, l)
		}
	}
	if len(tags) > 0 {
		t.Errorf("lintian:\n%s", strings.Join(tags, "\n"))
	}
}

// rpmlint with packaging/rpm/rpmlint.toml (its filters give their reasons):
// no error.
func TestRPMLintNoErrors(t *testing.T) {
	need(t, "go", "rpmbuild")
	needLinter(t, "rpmlint")
	dist, _ := buildPackages(t, "")
	rpms, _ := filepath.Glob(filepath.Join(dist, "*.rpm"))
	if len(rpms) != 3 {
		t.Fatalf("want 3 rpms, got %v", rpms)
	}
	cmd := exec.Command("rpmlint", append([]string{"-c", "rpm/rpmlint.toml"}, rpms...)...)
	out, _ := cmd.CombinedOutput() // exits non-zero on errors
	m := regexp.MustCompile(`(\d+) errors, (\d+) warnings`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("rpmlint printed no summary:\n%s", out)
	}
	if string(m[1]) != "0" {
		t.Errorf("rpmlint: %s errors:\n%s", m[1], out)
	}
}

// The shipped vrrpd.yaml has no instance (the package enables the unit); its
// commented example must stay a valid configuration once uncommented.
func TestShippedVRRPDConfigExampleIsValid(t *testing.T) {
	data, err := os.ReadFile("etc/vrrpd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("etc/vrrpd.yaml", data)
	if err != nil {
		t.Fatalf("shipped configuration: %v", err)
	}
	if len(cfg.Instances) != 0 {
		t.Errorf("shipped configuration has %d instances; want none until the administrator adds one", len(cfg.Instances))
	}
	var example []string
	inExample := false
	for _, l := range strings.Split(string(data), "\n") {
		if l == "instances: []" {
			inExample = true
			continue
		}
		if inExample {
			example = append(example, strings.TrimPrefix(strings.TrimPrefix(l, "#"), " "))
		} else {
			example = append(example, l)
		}
	}
	cfg, err = config.Parse("etc/vrrpd.yaml, uncommented", []byte(strings.Join(example, "\n")))
	if err != nil {
		t.Fatalf("the commented example: %v\n%s", err, strings.Join(example, "\n"))
	}
	if len(cfg.Instances) != 1 || len(cfg.VirtualServers) != 1 {
		t.Errorf("uncommented example: %d instances, %d virtual servers; want 1 and 1", len(cfg.Instances), len(cfg.VirtualServers))
	}
}

// man-pages(7) "Sections within a manual page": EXAMPLES in every page, EXIT
// STATUS in those of commands (sections 1 and 8).
func TestManPagesHaveManPages7Sections(t *testing.T) {
	pages, _ := filepath.Glob("man/*.md")
	if len(pages) != 6 {
		t.Fatalf("want 6 man pages, found %v", pages)
	}
	for _, p := range pages {
		page := strings.TrimSuffix(filepath.Base(p), ".md")
		md, err := manpage.Read(page)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"NAME", "EXAMPLES", "SEE ALSO"}
		if strings.HasSuffix(page, ".1") || strings.HasSuffix(page, ".8") {
			want = append(want, "SYNOPSIS", "EXIT STATUS")
		}
		have := map[string]bool{}
		for _, s := range manpage.Sections(md) {
			have[s] = true
		}
		for _, s := range want {
			if !have[s] {
				t.Errorf("%s has no %s section", page, s)
			}
		}
	}
}
