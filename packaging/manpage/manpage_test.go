package manpage

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const page = `% X 8

# SYNOPSIS

**x** [**-synopsis-only**]

# OPTIONS

**-f**, **-config** *file*
:   Configuration.

**--json** *file*, **--markdown** *file*
:   Output files.

Prose that mentions **-prose-only** is not an option entry.

# EXAMPLES

**-example-only**
:   not an option either

# EXIT STATUS

0
`

func TestFlagsAreTheTermLinesOfDefinitionLists(t *testing.T) {
	if diff := cmp.Diff([]string{"config", "f", "json", "markdown"}, Flags(page)); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([]string{"SYNOPSIS", "OPTIONS", "EXAMPLES", "EXIT STATUS"}, Sections(page)); diff != "" {
		t.Error(diff)
	}
}

func TestUsageFlagsReadPrintDefaults(t *testing.T) {
	usage := "Usage of x:\n  -config file\n    \tconfiguration\n  -t\tcheck\n  -version\n    \tprint\nusage text with  -dash inside\n"
	if diff := cmp.Diff([]string{"config", "t", "version"}, UsageFlags(usage)); diff != "" {
		t.Error(diff)
	}
}

func TestCompareNamesBothDirections(t *testing.T) {
	got := Compare([]string{"a", "gone"}, []string{"a", "new"})
	want := "-new is a flag of the binary but not in the man page's options\n-gone is in the man page's options but not a flag of the binary\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := Compare([]string{"a"}, []string{"a"}); got != "" {
		t.Errorf("same sets: %q", got)
	}
}
