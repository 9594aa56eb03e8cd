package store

import (
	"errors"
	"strings"
	"testing"
)

func TestFold(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"nick", "nick"},
		{"NiCK", "nick"},
		{"#Chan[X]", "#chan[x]"}, // ascii casemapping: [ ] are not folded to { }
		{"Émile", "Émile"},       // non-ASCII untouched
		{"ABC-xyz_09", "abc-xyz_09"},
	} {
		if got := Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDMKey(t *testing.T) {
	if a, b := DMKey("Bob", "alice"), DMKey("ALICE", "bob"); a != b || a != "alice,bob" {
		t.Fatalf("DMKey not symmetric/folded: %q %q", a, b)
	}
	if IsChannel(DMKey("x", "y")) {
		t.Fatal("DM key looks like a channel")
	}
	for _, tc := range []struct {
		key, me, peer string
		ok            bool
	}{
		{"alice,bob", "Alice", "bob", true},
		{"alice,bob", "bob", "alice", true},
		{"alice,bob", "carol", "", false},
		{"#chan", "alice", "", false},
		{"bob,bob", "bob", "bob", true},
	} {
		peer, ok := DMPeer(tc.key, tc.me)
		if peer != tc.peer || ok != tc.ok {
			t.Errorf("DMPeer(%q, %q) = %q, %v; want %q, %v", tc.key, tc.me, peer, ok, tc.peer, tc.ok)
		}
	}
}

func TestDefaultHistoryKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   Event
		want string
	}{
		{"channel privmsg", Event{Kind: KindPrivmsg, Target: "#Go", Sender: "a!u@h"}, "#go"},
		{"channel join", Event{Kind: KindJoin, Target: "&Local", Sender: "a!u@h"}, "&local"},
		{"direct message", Event{Kind: KindPrivmsg, Target: "Bob", Sender: "Alice!u@h"}, "alice,bob"},
		{"direct notice", Event{Kind: KindNotice, Target: "alice", Sender: "bob!u@h"}, "alice,bob"},
		{"quit", Event{Kind: KindQuit, Sender: "a!u@h"}, ""},
		{"nick", Event{Kind: KindNick, Target: "newnick", Sender: "a!u@h"}, ""},
	} {
		if got := DefaultHistoryKey(&tc.ev); got != tc.want {
			t.Errorf("%s: DefaultHistoryKey = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestPassword(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("unexpected encoding %q", h)
	}
	if h2, _ := HashPassword("correct horse"); h2 == h {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	if ok, err := CheckPassword(h, "correct horse"); !ok || err != nil {
		t.Fatalf("CheckPassword(right) = %v, %v", ok, err)
	}
	if ok, err := CheckPassword(h, "correct horsf"); ok || err != nil {
		t.Fatalf("CheckPassword(wrong) = %v, %v", ok, err)
	}
	parts := strings.Split(h, "$")
	for _, bad := range []string{
		"",
		"plain",
		"$2a$10$abcdefghijklmnopqrstuv", // bcrypt
		strings.Replace(h, "argon2id", "argon2i", 1),
		strings.Replace(h, "v=19", "v=16", 1),
		strings.Replace(h, "m=19456", "m=999999999", 1),
		strings.Replace(h, "t=2", "t=0", 1),
		strings.Replace(h, "p=1", "p=0", 1),
		strings.Replace(h, "p=1", "q=1", 1),
		"$argon2id$v=19$m=19456,t=2,p=1$!!!$" + parts[5],
		"$argon2id$v=19$m=19456,t=2,p=1$" + parts[4] + "$c2hvcnQ",
	} {
		if ok, err := CheckPassword(bad, "x"); ok || !errors.Is(err, ErrBadHash) {
			t.Errorf("CheckPassword(%q) = %v, %v; want ErrBadHash", bad, ok, err)
		}
	}
}

// legacyHash is "correct horse" hashed by chatd before the parameters changed (m=64 MiB, t=3, p=2).
const legacyHash = "$argon2id$v=19$m=65536,t=3,p=2$aGFjaGF0LWxlZ2FjeS0xNg$rz163kmOpksFmqGFnCRrPQ8408fsb30bw8xgxhz4aEE"

// TestPasswordLegacyParameters (RFC 9106 §3.1, the parameters travel with the hash): a hash made with
// the old parameters verifies with them and asks for a rehash; a new one does not.
func TestPasswordLegacyParameters(t *testing.T) {
	if ok, err := CheckPassword(legacyHash, "correct horse"); !ok || err != nil {
		t.Fatalf("CheckPassword(legacy, right) = %v, %v", ok, err)
	}
	if ok, err := CheckPassword(legacyHash, "wrong horse"); ok || err != nil {
		t.Fatalf("CheckPassword(legacy, wrong) = %v, %v", ok, err)
	}
	if !NeedsRehash(legacyHash) {
		t.Error("NeedsRehash(legacy) = false")
	}
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if NeedsRehash(h) {
		t.Errorf("NeedsRehash(%q) = true for a hash made now", h)
	}
	if NeedsRehash("plain") {
		t.Error("NeedsRehash of an unparsable hash = true; it never verifies, so there is nothing to rehash")
	}
}

func FuzzCheckPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5aw", "pw")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$$", "")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		// Parse everything, but only derive keys with small costs: the parser accepts up to 1 GiB.
		if p, err := parseArgon2id(hash); err == nil && (p.memory > 1024 || p.time > 2) {
			return
		}
		ok, err := CheckPassword(hash, pw)
		if err != nil && ok {
			t.Fatal("ok with error")
		}
		if err != nil && !errors.Is(err, ErrBadHash) {
			t.Fatalf("error not ErrBadHash: %v", err)
		}
	})
}
