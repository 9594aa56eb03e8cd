package chatd

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

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
	acct, result := s.checkLogin(c, parts[1], parts[2])
	s.m.logins.WithLabelValues(result).Inc()
	switch result {
	case loginOK:
	case loginBusy, loginThrottled, loginError:
		// Not 904: the password may well be right. sasl-3.1 has no numeric
		// for "try again", so a standard reply says why and 906 ends the
		// exchange the way an abort does.
		text := "Too many logins in progress, try again in a few seconds"
		switch result {
		case loginThrottled:
			text = "Too many failed logins from your address or for this account, try again later"
		case loginError:
			text = "Accounts are unavailable right now, try again later"
		}
		r.fail("AUTHENTICATE", "TEMPORARILY_UNAVAILABLE", text)
		r.numeric(errSaslAborted, "SASL authentication aborted")
		return
	default:
		r.numeric(errSaslFail, "SASL authentication failed: invalid account or password")
		c.loginFails++
		if c.loginFails >= s.cfg.Limits.LoginFailuresPerConn {
			r.flush()
			c.close("Too many failed logins", discLoginFailures)
		}
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
	if result := s.registerAccount(c, acct, password); result != regOK {
		s.m.registrations.WithLabelValues(result).Inc()
		switch result {
		case regExists:
			r.fail("REGISTER", "ACCOUNT_EXISTS", acct, "Account already exists")
		case regOnePerConn:
			r.fail("REGISTER", "TEMPORARILY_UNAVAILABLE", acct, "One account per connection")
		case regThrottled:
			r.fail("REGISTER", "TEMPORARILY_UNAVAILABLE", acct, "Too many accounts registered from your address, try again later")
		default:
			r.fail("REGISTER", "TEMPORARILY_UNAVAILABLE", acct, "Could not create the account, try again")
		}
		return
	}
	s.m.registrations.WithLabelValues(regOK).Inc()
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
	// The session row's account changes with the event (store.Commit), so a
	// node started later loads what every running node applied.
	if err := s.commitChange(ev, u, nil, func(tx store.Tx) error { return tx.SetAccount(u.sid, acct) }); err == nil {
		r.numeric(rplLoggedIn, prefix, acct, "You are now logged in as "+acct)
	}
}

// REGISTER outcomes, the labels of chatd_account_registrations_total.
const (
	regOK         = "ok"
	regExists     = "exists"
	regOnePerConn = "one_per_connection"
	regThrottled  = "throttled" // registrations_per_ip used up
	regBusy       = "busy"
	regError      = "store_error"
)

// registerAccount creates an account for c: one per connection, and
// registrations_per_ip per network then one per registration_interval
// (draft/account-registration leaves limits to the server; REGISTER is
// allowed before connection registration, so these are what stop a script
// from minting accounts). A name already taken is refused before the
// expensive hash.
func (s *Server) registerAccount(c *Client, acct, password string) string {
	if c.registered {
		return regOnePerConn
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	if _, err := s.st.Account(ctx, acct); err == nil {
		return regExists
	} else if !errors.Is(err, store.ErrNotFound) {
		return regError
	}
	net := s.netKey(c.ip)
	if key := s.ipKey(c.ip); key != "" && !s.logins.allowRegistration(time.Now(), key) {
		return regThrottled
	}
	wctx, wcancel := context.WithTimeout(ctx, s.cfg.Limits.LoginWait)
	err := s.logins.acquire(wctx, net)
	wcancel()
	if err != nil {
		return regBusy
	}
	hash, err := store.HashPassword(password)
	s.logins.release()
	s.m.argon2Runs.Inc()
	if err == nil {
		err = s.st.CreateAccount(ctx, acct, hash)
	}
	switch {
	case errors.Is(err, store.ErrExists):
		return regExists
	case err != nil:
		return regError
	}
	c.registered = true
	return regOK
}
