package modes

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse_rfc2812_3_2_3(t *testing.T) {
	tests := []struct {
		name  string
		modes string
		args  []string
		want  []Change
	}{
		{"flags", "+nt-m", nil, []Change{{Add: true, Mode: 'n'}, {Add: true, Mode: 't'}, {Mode: 'm'}}},
		{"no sign adds", "i", nil, []Change{{Add: true, Mode: 'i'}}},
		{"member and key", "+o-k+l", []string{"nick", "key", "10"}, []Change{
			{Add: true, Mode: 'o', Arg: "nick", HasArg: true}, {Mode: 'k', Arg: "key", HasArg: true},
			{Add: true, Mode: 'l', Arg: "10", HasArg: true}}},
		{"-l takes no argument", "-l+v", []string{"nick"}, []Change{{Mode: 'l'}, {Add: true, Mode: 'v', Arg: "nick", HasArg: true}}},
		{"list query", "+b", nil, []Change{{Add: true, Mode: 'b'}}},
		{"arguments run out", "+oo", []string{"a"}, []Change{{Add: true, Mode: 'o', Arg: "a", HasArg: true}, {Add: true, Mode: 'o'}}},
		{"unknown letter keeps its place", "+Zb", []string{"m"}, []Change{{Add: true, Mode: 'Z'}, {Add: true, Mode: 'b', Arg: "m", HasArg: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, Channel.Parse(tt.modes, tt.args)); d != "" {
				t.Errorf("Parse(%q, %q) (-want +got):\n%s", tt.modes, tt.args, d)
			}
		})
	}
}

func TestRender(t *testing.T) {
	s, args := Render([]Change{{Add: true, Mode: 'o', Arg: "a", HasArg: true}, {Add: true, Mode: 'v', Arg: "b", HasArg: true}, {Mode: 'k'}, {Add: true, Mode: 'n'}})
	if s != "+ov-k+n" || strings.Join(args, " ") != "a b" {
		t.Errorf("Render = %q %q", s, args)
	}
}

func TestSets(t *testing.T) {
	if got := Add("nt", "tmi"); got != "imnt" {
		t.Errorf("Add = %q", got)
	}
	if got := Remove("imnt", "mx"); got != "int" {
		t.Errorf("Remove = %q", got)
	}
	if got := Channel.Chanmodes(); got != "beI,k,l,imnst" {
		t.Errorf("Chanmodes = %q", got)
	}
}

// FuzzRoundTrip: the changes Parse finds, rendered and parsed again, are
// the same changes (for known letters whose arguments are all there).
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"+o-k+l nick key 10", "+beI a b c", "-l+v x", "+Zimnst", "+b", "+-+-o a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			return
		}
		cs := Channel.Parse(fields[0], fields[1:])
		var kept []Change
		for _, c := range cs {
			if Channel.Type(c.Mode) == Unknown || c.Mode == '+' || c.Mode == '-' {
				continue
			}
			if Channel.TakesArg(c.Mode, c.Add) && !c.HasArg {
				continue
			}
			kept = append(kept, c)
		}
		s, args := Render(kept)
		again := Channel.Parse(s, args)
		if len(kept) == 0 && len(again) == 0 {
			return
		}
		if d := cmp.Diff(kept, again); d != "" {
			t.Fatalf("Parse(Render(%v)) differs (-first +again):\n%s", kept, d)
		}
	})
}
