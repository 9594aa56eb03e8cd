package store

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's first argon2id setting (19 MiB, two passes, one lane), inside what
// RFC 9106 §4 allows (its second recommended option is 64 MiB, t=3 for memory-constrained uses; this is
// a third of that memory for a server that verifies logins in bursts). A check costs about 40 ms of one
// core and 19 MiB, against 300-600 ms and 64 MiB for the m=64 MiB, t=3, p=2 hashes chatd made before:
// under a login storm on two cores that difference decides whether a real user waits 0.1 s or 4 s.
// Hashes made with other parameters still verify with their own (they are in the PHC string), and
// NeedsRehash tells the caller to re-hash on the next successful login.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// HashParams is the PHC prefix of the hashes HashPassword makes now, up to the salt.
var HashParams = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$", argon2.Version, argonMemory, argonTime, argonThreads)

// ErrBadHash is returned by CheckPassword for a hash it cannot parse.
var ErrBadHash = errors.New("store: malformed password hash")

// HashPassword derives an argon2id hash of password (RFC 9106) with a random salt, encoded in the PHC
// string format used by the reference implementation:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key> (unpadded standard base64).
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return HashParams + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key), nil
}

// NeedsRehash reports whether hash was made with other parameters (or key or salt length) than
// HashPassword uses now, so a caller that has just verified the password should store a new hash. A
// hash that does not parse needs no rehash: it never verifies.
func NeedsRehash(hash string) bool {
	p, err := parseArgon2id(hash)
	if err != nil {
		return false
	}
	return p.memory != argonMemory || p.time != argonTime || p.threads != argonThreads ||
		len(p.key) != argonKeyLen || len(p.salt) != argonSaltLen
}

// CheckPassword reports whether password matches hash (as made by HashPassword, with any parameters). The
// comparison takes constant time in the key. It returns ErrBadHash if hash is not an argon2id PHC string.
func CheckPassword(hash, password string) (bool, error) {
	p, err := parseArgon2id(hash)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

type argonParams struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parseArgon2id(hash string) (argonParams, error) {
	var p argonParams
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	f := strings.Split(hash, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return p, fmt.Errorf("%w: not $argon2id$", ErrBadHash)
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, fmt.Errorf("%w: version %q", ErrBadHash, f[2])
	}
	for _, kv := range strings.Split(f[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, fmt.Errorf("%w: parameter %q", ErrBadHash, kv)
		}
		switch k {
		case "m":
			p.memory = uint32(n)
		case "t":
			p.time = uint32(n)
		case "p":
			if n > 255 {
				return p, fmt.Errorf("%w: parameter %q", ErrBadHash, kv)
			}
			p.threads = uint8(n)
		default:
			return p, fmt.Errorf("%w: parameter %q", ErrBadHash, kv)
		}
	}
	// Refuse parameters that would make a stored hash a denial-of-service lever.
	if p.time == 0 || p.time > 16 || p.threads == 0 || p.memory < 8*uint32(p.threads) || p.memory > 1<<20 {
		return p, fmt.Errorf("%w: parameters out of range", ErrBadHash)
	}
	var err error
	b64 := base64.RawStdEncoding
	if p.salt, err = b64.DecodeString(f[4]); err != nil || len(p.salt) < 8 {
		return p, fmt.Errorf("%w: salt", ErrBadHash)
	}
	if p.key, err = b64.DecodeString(f[5]); err != nil || len(p.key) < 16 || len(p.key) > 64 {
		return p, fmt.Errorf("%w: key", ErrBadHash)
	}
	return p, nil
}
