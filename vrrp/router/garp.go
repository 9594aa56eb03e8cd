package router

import (
	"net/netip"
	"time"
)

// Announcer tells the segment that a virtual address now lives here:
// a gratuitous ARP for IPv4 (RFC 5798 §6.4.1 item (ii), RFC 5227 §3), an
// unsolicited Neighbor Advertisement with the Override flag for IPv6
// (RFC 4861 §7.2.6). The Linux implementation builds the frames with gopacket
// and sends them on an AF_PACKET socket (host.RawAnnouncer); tests use
// vrrptest.FakeAnnouncer.
type Announcer interface {
	Announce(ifname string, addr netip.Addr) error
}

// Gratuitous is the announcement schedule of a Master: Repeat packets per
// address at once (Interval apart), Repeat more after SecondDelay (0: none),
// and RefreshRepeat every Refresh while Master (0: never). The second burst
// covers hosts and switches that missed or ignored the first (keepalived
// garp_master_delay); the refresh covers ARP caches older than the failover.
type Gratuitous struct {
	Repeat        int
	Interval      time.Duration
	SecondDelay   time.Duration
	Refresh       time.Duration
	RefreshRepeat int
}

// announceSched is the pending announcements of one instance. It is driven by
// the instance loop: due returns when it next wants to run and fire sends
// what is due.
type announceSched struct {
	cfg      Gratuitous
	left     int       // packets (per address) left in the current burst
	next     time.Time // when the next packet of the burst is due
	secondAt time.Time // zero: no second burst pending
	refresh  time.Time // zero: no refresh
}

// start begins the announcements of a new Master at now.
func (s *announceSched) start(now time.Time) {
	s.left = max(s.cfg.Repeat, 1)
	s.next = now
	s.secondAt = time.Time{}
	if s.cfg.SecondDelay > 0 {
		s.secondAt = now.Add(s.cfg.SecondDelay)
	}
	s.refresh = time.Time{}
	if s.cfg.Refresh > 0 {
		s.refresh = now.Add(s.cfg.Refresh)
	}
}

// burst queues one more burst of n packets now (an election won while
// already Master), unless one is running.
func (s *announceSched) burst(now time.Time, n int) {
	if s.left == 0 {
		s.left, s.next = n, now
	}
}

func (s *announceSched) stop() { *s = announceSched{cfg: s.cfg} }

// due is the earliest time fire has work; zero for none.
func (s *announceSched) due() time.Time {
	var d time.Time
	for _, t := range []time.Time{s.nextIfLeft(), s.secondAt, s.refresh} {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	return d
}

func (s *announceSched) nextIfLeft() time.Time {
	if s.left > 0 {
		return s.next
	}
	return time.Time{}
}

// fire calls send once per packet due at now and returns how many it sent.
func (s *announceSched) fire(now time.Time, send func()) int {
	sent := 0
	if !s.secondAt.IsZero() && !now.Before(s.secondAt) {
		s.secondAt = time.Time{}
		s.left, s.next = s.left+max(s.cfg.Repeat, 1), now
	}
	if !s.refresh.IsZero() && !now.Before(s.refresh) {
		s.refresh = now.Add(s.cfg.Refresh)
		if s.left == 0 {
			s.next = now
		}
		s.left += max(s.cfg.RefreshRepeat, 1)
	}
	for s.left > 0 && !now.Before(s.next) {
		send()
		sent++
		s.left--
		if s.cfg.Interval > 0 {
			s.next = s.next.Add(s.cfg.Interval)
			if s.next.Before(now) {
				s.next = now.Add(s.cfg.Interval) // late: do not send a backlog at once
			}
		}
	}
	return sent
}
