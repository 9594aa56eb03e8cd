package chatd

import (
	"runtime/debug"

	"github.com/hachat/hachat/chatd/irc"
)

type handlerFunc func(c *Client, m irc.Message, r *response)

type command struct {
	fn        handlerFunc
	minParams int
	// preReg commands may be used before registration completes.
	preReg bool
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"CAP":          {fn: handleCap, minParams: 1, preReg: true},
		"NICK":         {fn: handleNick, preReg: true},
		"USER":         {fn: handleUser, minParams: 4, preReg: true},
		"PASS":         {fn: handlePass, minParams: 1, preReg: true},
		"AUTHENTICATE": {fn: handleAuthenticate, minParams: 1, preReg: true},
		"REGISTER":     {fn: handleRegister, minParams: 3, preReg: true},
		"PING":         {fn: handlePing, minParams: 1, preReg: true},
		"PONG":         {fn: func(*Client, irc.Message, *response) {}, preReg: true},
		"QUIT":         {fn: handleQuit, preReg: true},
		"JOIN":         {fn: handleJoin, minParams: 1},
		"PART":         {fn: handlePart, minParams: 1},
		"PRIVMSG":      {fn: handlePrivmsg},
		"NOTICE":       {fn: handlePrivmsg},
		"TAGMSG":       {fn: handlePrivmsg},
		"BATCH":        {fn: handleBatch, minParams: 1},
		"TOPIC":        {fn: handleTopic, minParams: 1},
		"NAMES":        {fn: handleNames},
		"MODE":         {fn: handleMode, minParams: 1},
		"KICK":         {fn: handleKick, minParams: 2},
		"INVITE":       {fn: handleInvite},
		"KNOCK":        {fn: handleKnock, minParams: 1},
		"WHO":          {fn: handleWho},
		"WHOIS":        {fn: whoisServer(handleWhois), minParams: 1},
		"WHOWAS":       {fn: handleWhowas, minParams: 1},
		"LUSERS":       {fn: handleLusers},
		"MOTD":         {fn: serverTarget(handleMotd)},
		"LIST":         {fn: handleList},
		"AWAY":         {fn: handleAway},
		"USERHOST":     {fn: handleUserhost, minParams: 1},
		"ISON":         {fn: handleIson, minParams: 1},
		"VERSION":      {fn: serverTarget(handleVersion)},
		"TIME":         {fn: serverTarget(handleTime)},
		"ADMIN":        {fn: serverTarget(handleAdmin)},
		"LINKS":        {fn: handleLinks},
		"STATS":        {fn: handleStats, minParams: 1},
		"HELP":         {fn: handleHelp},
		"HELPOP":       {fn: handleHelp},
		"CHATHISTORY":  {fn: handleChathistory, minParams: 1},
		"MONITOR":      {fn: handleMonitor, minParams: 1},
		"SETNAME":      {fn: handleSetname, minParams: 1},
		"OPER":         {fn: handleOper, minParams: 2},
		"KILL":         {fn: handleKill, minParams: 1},
		"WALLOPS":      {fn: handleWallops, minParams: 1},
		"REHASH":       {fn: handleRehash},
		"INFO":         {fn: serverTarget(handleInfo)},
	}
}

// handle runs one command and sends its replies (labeled if asked). A panic
// in a handler is a bug, but it costs only this client its connection.
func (c *Client) handle(m irc.Message) {
	s := c.s
	r := c.newResponse(m)
	defer func() {
		if p := recover(); p != nil {
			s.m.panics.Inc()
			s.log.Error("handler panic", "command", m.Command, "panic", p, "stack", string(debug.Stack()))
			c.close("Internal error", discInternal)
			return
		}
		r.flush()
	}()
	cmd, ok := commands[m.Command]
	registered := c.u.Load() != nil
	if !ok {
		// Before registration too, as Ergo does: a client probing for a
		// command learns at once that it does not exist.
		s.m.dropped.WithLabelValues(dropUnknown).Inc()
		r.numeric(errUnknownCommand, m.Command, "Unknown command")
		return
	}
	s.m.commands.WithLabelValues(m.Command).Inc()
	if !cmd.preReg && !registered {
		r.numeric(errNotRegistered, "You have not registered")
		return
	}
	if len(m.Params) < cmd.minParams {
		r.numeric(errNeedMoreParams, m.Command, "Not enough parameters")
		return
	}
	cmd.fn(c, m, r)
}
