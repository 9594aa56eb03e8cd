// Package manpage reads the Markdown sources of the man pages in
// packaging/man, so that each binary's tests can hold its page to its flags
// (both directions) and to the sections man-pages(7) asks for.
package manpage

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
)

// Read returns the Markdown source of a page, e.g. Read("chatd.8").
func Read(page string) (string, error) {
	_, here, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "man", page+".md"))
	return string(b), err
}

// Sections lists the page's top-level headings ("# EXIT STATUS").
func Sections(md string) []string {
	var out []string
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "# ") {
			out = append(out, strings.TrimPrefix(l, "# "))
		}
	}
	return out
}

var boldFlag = regexp.MustCompile(`\*\*--?([A-Za-z0-9][A-Za-z0-9.-]*)\*\*`)

// Flags returns the flags the page documents, without dashes and sorted: the
// bold -flag or --flag on each term line of a definition list (a line that
// the next ":   " line describes), outside SYNOPSIS and EXAMPLES.
func Flags(md string) []string {
	lines := strings.Split(md, "\n")
	set := map[string]bool{}
	section := ""
	for i, l := range lines {
		if strings.HasPrefix(l, "# ") {
			section = strings.TrimPrefix(l, "# ")
			continue
		}
		if section == "SYNOPSIS" || section == "EXAMPLES" || i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], ":   ") {
			continue
		}
		for _, m := range boldFlag.FindAllStringSubmatch(l, -1) {
			set[m[1]] = true
		}
	}
	return sorted(set)
}

var usageFlag = regexp.MustCompile(`(?m)^  -([A-Za-z0-9][A-Za-z0-9.-]*)`)

// UsageFlags returns the flags a flag.FlagSet's usage (PrintDefaults) lists,
// without dashes and sorted.
func UsageFlags(usage string) []string {
	set := map[string]bool{}
	for _, m := range usageFlag.FindAllStringSubmatch(usage, -1) {
		set[m[1]] = true
	}
	return sorted(set)
}

// Compare says how the flags of a page and of a binary differ, or "" when
// they are the same set.
func Compare(page, binary []string) string {
	inPage, inBinary := map[string]bool{}, map[string]bool{}
	for _, f := range page {
		inPage[f] = true
	}
	for _, f := range binary {
		inBinary[f] = true
	}
	var b strings.Builder
	for _, f := range binary {
		if !inPage[f] {
			fmt.Fprintf(&b, "-%s is a flag of the binary but not in the man page's options\n", f)
		}
	}
	for _, f := range page {
		if !inBinary[f] {
			fmt.Fprintf(&b, "-%s is in the man page's options but not a flag of the binary\n", f)
		}
	}
	return b.String()
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}
