package syncd

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// RequestTimeout bounds one request: a kernel stuck stopping a sync thread
// must not hang vrrpd's reconcile loop; the caller gets an error and retries.
const RequestTimeout = 10 * time.Second

// DefaultMinRunTime is how long a daemon this client started runs at least
// before the client stops it. Linux 6.1 hangs in IPVS_CMD_DEL_DAEMON when a
// backup sync thread is stopped a few milliseconds after it was started
// (seen in test/ipvsvm: "stopping backup sync thread" never completes, and
// every later sync command blocks behind it); after a few hundred
// milliseconds it stops at once.
const DefaultMinRunTime = 300 * time.Millisecond

// Client talks to the kernel's IPVS generic netlink family.
type Client struct {
	c      *genetlink.Conn
	family genetlink.Family
	// MinRunTime overrides DefaultMinRunTime when positive.
	MinRunTime time.Duration
	sleep      func(time.Duration)
	started    map[Role]time.Time
}

// Dial opens a generic netlink socket and resolves the IPVS family.
func Dial() (*Client, error) {
	c, err := genetlink.Dial(nil)
	if err != nil {
		return nil, fmt.Errorf("syncd: dial generic netlink: %w", err)
	}
	return New(c)
}

// New resolves the IPVS family on c (a real connection, or one from
// genltest.Dial in tests). On failure it closes c.
func New(c *genetlink.Conn) (*Client, error) {
	f, err := c.GetFamily(familyName)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("syncd: resolve generic netlink family %s: %w", familyName, err)
	}
	return &Client{c: c, family: f, sleep: time.Sleep, started: map[Role]time.Time{}}, nil
}

// Close closes the socket. Running daemons keep running: they live in the
// kernel.
func (c *Client) Close() error { return c.c.Close() }

// Daemons lists the running sync daemons (at most one master and one backup).
func (c *Client) Daemons() ([]Daemon, error) {
	c.c.SetDeadline(time.Now().Add(RequestTimeout))
	msgs, err := c.c.Execute(genetlink.Message{
		Header: genetlink.Header{Command: cmdGetDaemon, Version: familyVersion},
	}, c.family.ID, netlink.Request|netlink.Dump)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("syncd: get daemons: %w", err)
	}
	var out []Daemon
	for _, m := range msgs {
		ad, err := netlink.NewAttributeDecoder(m.Data)
		if err != nil {
			return nil, fmt.Errorf("syncd: get daemons: %w", err)
		}
		for ad.Next() {
			if ad.Type() != cmdAttrDaemon {
				continue
			}
			var d Daemon
			ad.Do(d.UnmarshalBinary)
			out = append(out, d)
		}
		if err := ad.Err(); err != nil {
			return nil, fmt.Errorf("syncd: get daemons: %w", err)
		}
	}
	return out, nil
}

// Start starts a daemon. It fails with syscall.EEXIST when a daemon of the
// same role runs already.
func (c *Client) Start(d Daemon) error {
	inner, err := d.MarshalBinary()
	if err != nil {
		return fmt.Errorf("syncd: start %v daemon: %w", d.Role, err)
	}
	if err := c.exec(cmdNewDaemon, inner, "start "+d.Role.String()+" daemon"); err != nil {
		return err
	}
	c.started[d.Role] = time.Now()
	return nil
}

// Stop stops the daemon of role r. It fails with syscall.ESRCH when none runs.
//
// A daemon this client started less than MinRunTime ago is stopped only
// once that time has passed (see DefaultMinRunTime).
func (c *Client) Stop(r Role) error {
	if t, ok := c.started[r]; ok {
		minRun := c.MinRunTime
		if minRun <= 0 {
			minRun = DefaultMinRunTime
		}
		if age := time.Since(t); age < minRun {
			c.sleep(minRun - age)
		}
	}
	delete(c.started, r)
	return c.exec(cmdDelDaemon, stateOnly(r), "stop "+r.String()+" daemon")
}

func (c *Client) exec(cmd uint8, inner []byte, what string) error {
	data, err := encodeNested(inner)
	if err != nil {
		return fmt.Errorf("syncd: %s: %w", what, err)
	}
	c.c.SetDeadline(time.Now().Add(RequestTimeout))
	_, err = c.c.Execute(genetlink.Message{
		Header: genetlink.Header{Command: cmd, Version: familyVersion},
		Data:   data,
	}, c.family.ID, netlink.Request|netlink.Acknowledge)
	if err != nil {
		return fmt.Errorf("syncd: %s: %w", what, err)
	}
	return nil
}

// Ensure makes the running daemons match want: the daemon of want.Role
// runs with want's settings and the daemon of the other role does not. It
// changes nothing when they match already, so it is safe to call on every
// VRRP state change and every reload. A nil want stops both.
func (c *Client) Ensure(want *Daemon) error {
	running, err := c.Daemons()
	if err != nil {
		return err
	}
	for _, r := range running {
		if want != nil && r.Role == want.Role && same(r, *want) {
			continue
		}
		if err := c.Stop(r.Role); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
	}
	for _, r := range running {
		if want != nil && r.Role == want.Role && same(r, *want) {
			return nil
		}
	}
	if want == nil {
		return nil
	}
	return c.Start(*want)
}

// same compares what was asked for with what the kernel reports; the kernel
// fills in defaults for zero fields, so those match anything.
func same(have, want Daemon) bool {
	return have.Role == want.Role && have.Interface == want.Interface && have.SyncID == want.SyncID &&
		(want.MaxLen == 0 || have.MaxLen == want.MaxLen) &&
		(!want.Group.IsValid() || have.Group == want.Group) &&
		(want.Port == 0 || have.Port == want.Port) &&
		(want.TTL == 0 || have.TTL == want.TTL)
}
