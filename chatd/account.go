package chatd

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

// Accounts: SASL PLAIN (IRCv3 sasl-3.1, RFC 4616) and draft/account-registration.

// saslState is an AUTHENTICATE exchange in progress (IRCv3 sasl-3.1).
type saslState struct {
	mech string
	buf  strings.Builder
}

const saslChunk = 400

func handleAuthenticate(c *Client, m irc.Message, r *response) {
	s := c.s
	if c.u.Load() != nil || c.account != "" {
		r.numeric(errSaslAlready, "You have already authenticated using SASL")
		return
	}
	arg := m.Params[0]
	if arg == "*" {
		c.sasl = saslState{}
		r.numeric(errSaslAborted, "SASL authentication aborted")
		return
	}
	if c.sasl.mech == "" {
		if strings.ToUpper(arg) != "PLAIN" {
			r.numeric(rplSaslMechs, "PLAIN", "are available SASL mechanisms")
			r.numeric(errSaslFail, "SASL authentication failed")
			return
		}
		c.sasl.mech = "PLAIN"
		r.add(irc.Message{Command: "AUTHENTICATE", Params: []string{"+"}})
		return
	}
	if len(arg) > saslChunk || c.sasl.buf.Len()+len(arg) > 4*saslChunk {
		c.sasl = saslState{}
		r.numeric(errSaslTooLong, "SASL message too long")
		return
	}
	if arg != "+" {
		c.sasl.buf.WriteString(arg)
	}
	if len(arg) == saslChunk {
		return // more chunks follow
	}
	payload := c.sasl.buf.String()
	c.sasl = saslState{}
	raw, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		r.numeric(errSaslFail, "SASL authentication failed: invalid base64")
		return
	}
	// RFC 4616 §2: [authzid] NUL authcid NUL passwd
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 || parts[1] == "" || (parts[0] != "" && store.Fold(parts[0]) != store.Fold(parts[1])) {
		r.numeric(errSaslFail, "SASL authentication failed: malformed PLAIN message")
		return
	}
	acct, ok := s.checkLogin(parts[1], parts[2])
	if !ok {
		r.numeric(errSaslFail, "SASL authentication failed: invalid account or password")
		return
	}
	c.account = acct
	r.numeric(rplLoggedIn, c.nickOrStar()+"!"+c.userOrStar()+"@"+hostOf(c.ip), acct, "You are now logged in as "+acct)
	r.numeric(rplSaslSuccess, "SASL authentication successful")
}

func (c *Client) userOrStar() string {
	if c.user == "" {
		return "*"
	}
	return c.user
}

// checkLogin verifies a password, bounding concurrent argon2id runs.
func (s *Server) checkLogin(account, password string) (string, bool) {
	ctx, cancel := s.storeCtx()
	defer cancel()
	acct, err := s.st.Account(ctx, account)
	if err != nil {
		return "", false
	}
	if !s.acquirePw(ctx) {
		return "", false
	}
	defer func() { <-s.pwSem }()
	ok, err := store.CheckPassword(acct.Hash, password)
	// The registered spelling, not the client's: it is what account-tag,
	// 900 and WHOIS show, and it must not vary with how one typed it.
	return acct.Name, err == nil && ok
}

func (s *Server) acquirePw(ctx context.Context) bool {
	select {
	case s.pwSem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// handleRegister implements draft/account-registration REGISTER.
func handleRegister(c *Client, m irc.Message, r *response) {
	s := c.s
	acct, password := m.Params[0], m.Params[2]
	if acct == "*" {
		acct = c.nickOrStar()
	}
	if c.account != "" || (c.u.Load() != nil && c.u.Load().acc != "") {
		r.fail("REGISTER", "ALREADY_AUTHENTICATED", acct, "You are already logged in")
		return
	}
	if !validNick(acct, s.cfg.Limits.NickLen) {
		r.fail("REGISTER", "BAD_ACCOUNT_NAME", acct, "Account names follow the nickname rules")
		return
	}
	if len(password) < 8 || len(password) > 300 {
		r.fail("REGISTER", "UNACCEPTABLE_PASSWORD", acct, "Passwords must be 8 to 300 bytes long")
		return
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	if !s.acquirePw(ctx) {
		r.fail("REGISTER", "TEMPORARILY_UNAVAILABLE", acct, "Try again later")
		return
	}
	hash, err := store.HashPassword(password)
	<-s.pwSem
	if err == nil {
		err = s.st.CreateAccount(ctx, acct, hash)
	}
	switch {
	case errors.Is(err, store.ErrExists):
		r.fail("REGISTER", "ACCOUNT_EXISTS", acct, "Account already exists")
		return
	case err != nil:
		r.fail("REGISTER", "TEMPORARILY_UNAVAILABLE", acct, "Could not create the account, try again")
		return
	}
	r.add(s.serverMsg("REGISTER", "SUCCESS", acct, "Account created"))
	u := c.u.Load()
	if u == nil {
		c.account = acct
		r.numeric(rplLoggedIn, c.nickOrStar()+"!"+c.userOrStar()+"@"+hostOf(c.ip), acct, "You are now logged in as "+acct)
		return
	}
	s.mu.RLock()
	prefix := u.prefix()
	s.mu.RUnlock()
	ev := &store.Event{Kind: store.KindNick, Sender: prefix, Account: acct, Params: []string{evAccount, u.sid, acct}}
	if err := s.commit(ev, u, nil); err == nil {
		r.numeric(rplLoggedIn, prefix, acct, "You are now logged in as "+acct)
	}
}
