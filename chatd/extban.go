package chatd

import "strings"

// IRCv3 account-extban (https://ircv3.net/specs/extensions/account-extban):
// a +b, +e or +I mask "$a:<account mask>" matches users logged in to a
// matching account, whatever their nick or host; never a user who is not
// logged in. ISUPPORT: EXTBAN=$,a and ACCOUNTEXTBAN=a.

// accountExtban is the prefix of an account mask (EXTBAN prefix '$', type
// 'a', then ':'); masks are stored and matched folded.
const accountExtban = "$a:"

// isupport tokens of this file.
const (
	isupportExtban        = "EXTBAN=$,a"
	isupportAccountExtban = "ACCOUNTEXTBAN=a"
)

// canonExtban validates an extended ban mask; ok is false for a mask that
// is not one (then it is an ordinary nick!user@host mask).
func canonExtban(m string) (mask string, isExt, ok bool) {
	if !strings.HasPrefix(m, "$") {
		return "", false, false
	}
	acc, found := strings.CutPrefix(m, accountExtban)
	if !found || acc == "" || len(m) > maxMaskLen {
		return "", true, false // an extban chatd does not know, or empty
	}
	return m, true, true
}

// matchesExtban reports whether an extended ban (folded) matches a user
// with the folded prefix and account ("" for none).
func matchesExtban(folded, account string) bool {
	acc, _ := strings.CutPrefix(folded, accountExtban)
	return account != "" && globMatch(acc, account)
}
