package irc

import "strings"

// parseTags parses the tag section without its '@'. Keys follow message-tags
// §Format: an optional '+' (client-only), an optional vendor prefix ending in
// '/', and a name of letters, digits and '-'. lenient skips a malformed tag
// instead of refusing the line.
func parseTags(s string, lenient bool) ([]Tag, error) {
	if s == "" && !lenient {
		return nil, ErrBadTags
	}
	var tags []Tag
	for s != "" {
		var kv string
		kv, s, _ = strings.Cut(s, ";")
		if kv == "" {
			continue // "a;;b" and a trailing ';' are tolerated by every implementation
		}
		k, v, _ := strings.Cut(kv, "=")
		if !validTagKey(k) {
			if lenient {
				continue
			}
			return nil, ErrBadTags
		}
		tags = append(tags, Tag{Key: k, Value: UnescapeTag(v)})
	}
	if len(tags) == 0 && !lenient {
		return nil, ErrBadTags
	}
	return tags, nil
}

func validTagKey(k string) bool {
	k = strings.TrimPrefix(k, "+")
	if k == "" {
		return false
	}
	if i := strings.LastIndexByte(k, '/'); i >= 0 {
		vendor := k[:i]
		k = k[i+1:]
		if vendor == "" || k == "" {
			return false
		}
		for j := 0; j < len(vendor); j++ {
			c := vendor[j]
			if !(isAlnum(c) || c == '-' || c == '.') {
				return false
			}
		}
	}
	for j := 0; j < len(k); j++ {
		if c := k[j]; !(isAlnum(c) || c == '-') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// UnescapeTag reverses the escaping of message-tags §Escaping values. An
// unknown escape drops the backslash; a trailing lone backslash is dropped.
// Exported for clients of this package that parse lines their own way (the
// load generator's lenient parser).
func UnescapeTag(v string) string {
	if strings.IndexByte(v, '\\') < 0 {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(v) {
			break
		}
		switch v[i] {
		case ':':
			b.WriteByte(';')
		case 's':
			b.WriteByte(' ')
		case 'r':
			b.WriteByte('\r')
		case 'n':
			b.WriteByte('\n')
		default:
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

// AppendEscapedTag appends v escaped as a message-tags value.
func AppendEscapedTag(dst []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case ';':
			dst = append(dst, '\\', ':')
		case ' ':
			dst = append(dst, '\\', 's')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\n':
			dst = append(dst, '\\', 'n')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
