package ipvs

import "github.com/hachat/hachat/ipvs/quorum"

// QuorumChange is a virtual service gaining or losing its quorum, with the
// command keepalived.conf(5) runs for it: quorum_up when the quorum is
// gained, quorum_down when it is lost. The first verdict after start is not
// a change: keepalived runs neither there (with alpha the quorum starts
// lost, and only a later gain runs quorum_up).
type QuorumChange struct {
	Service string
	Held    bool
	Command []string // nil: none configured
}

func (s *vsSpec) quorumChange(q quorum.State) QuorumChange {
	c := QuorumChange{Service: s.name, Held: q == quorum.Held}
	if c.Held {
		c.Command = s.quorumUp
	} else {
		c.Command = s.quorumDown
	}
	return c
}

func (b *Balancer) reportQuorum(changes *[]QuorumChange) {
	if b.onQuorum == nil {
		return
	}
	for _, c := range *changes {
		b.onQuorum(c)
	}
}

// ShutdownQuorumCommands lists the quorum_down commands keepalived's omega
// runs when the daemon stops: those of the services with omega whose
// quorum is held (a lost quorum has already run its quorum_down).
func (b *Balancer) ShutdownQuorumCommands() []QuorumChange {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []QuorumChange
	for i := range b.specs {
		s := &b.specs[i]
		if s.omega && len(s.quorumDown) > 0 && b.quorum[s.svc.ServiceKey] == quorum.Held {
			out = append(out, QuorumChange{Service: s.name, Held: false, Command: s.quorumDown})
		}
	}
	return out
}
