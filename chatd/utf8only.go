package chatd

import (
	"strings"

	"github.com/hachat/hachat/chatd/irc"
)

// rejectInvalidUTF8 answers a line that is not UTF-8 (IRCv3 UTF8ONLY:
// "FAIL <command> INVALID_UTF8"), naming its command and carrying its label
// when the rest of the line can be read, so the client knows which of its
// commands was refused.
func (c *Client) rejectInvalidUTF8(line string) {
	cmd := "*"
	m, err := irc.Parse(strings.ToValidUTF8(line, "\uFFFD"))
	if err == nil && m.Command != "" {
		cmd = m.Command
	}
	r := c.newResponse(m) // m's label, if any and negotiated
	r.fail(cmd, "INVALID_UTF8", "Message rejected: it is not valid UTF-8")
	r.flush()
}
