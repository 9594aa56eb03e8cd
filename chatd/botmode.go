package chatd

// IRCv3 bot mode (https://ircv3.net/specs/extensions/bot-mode): a user marks
// itself a bot with a user mode named by ISUPPORT BOT. Others see it in
// WHOIS (335), in WHO's flags and as a "bot" tag on what it sends.

// botMode is the user mode letter (ISUPPORT BOT=B, as Ergo and InspIRCd).
const botMode = 'B'

// rplWhoisBot is RPL_WHOISBOT ("<client> <nick> :is a bot").
const rplWhoisBot = "335"

// botTagKey is the tag a bot's messages carry. The ratified name: clients
// written against the draft look for either.
const botTagKey = "bot"

// withBotTag adds the bot tag to tags when the sender is a bot. The tag is
// stored with the event, so history replays show it as the live message did.
// s.mu held (reads u.modes).
func withBotTag(u *user, tags map[string]string) map[string]string {
	if !u.hasMode(botMode) {
		return tags
	}
	if tags == nil {
		tags = make(map[string]string, 1)
	}
	tags[botTagKey] = ""
	return tags
}
