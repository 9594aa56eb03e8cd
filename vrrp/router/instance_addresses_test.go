package router

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestOnAddressesFollowsVIPs checks keepalived.conf(5)'s order for
// virtual_routes: installed after the virtual addresses when the instance
// becomes Master (a route may use a virtual address as its source), and
// removed before them when it leaves, and at start-up for what a crashed
// run left.
func TestOnAddressesFollowsVIPs(t *testing.T) {
	r := newRecorder()
	in, err := NewInstance(testConfig("vi", 200, srcA), InstanceDeps{
		Sender: r, Addrs: r, Announcer: r, OnEvent: func(InstanceEvent) {},
		OnAddresses: func(held bool) {
			if held {
				r.add("routes up")
			} else {
				r.add("routes down")
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	in.start(rt0)
	if got, want := r.take(), []string{"routes down"}; !cmp.Equal(got, want) {
		t.Errorf("start-up: %q, want %q", got, want)
	}
	in.handleTimer(in.m.Deadline())
	got := r.take()
	if i, j := index(got, "add "+vip.String()), index(got, "routes up"); i < 0 || j < i {
		t.Errorf("takeover: %q, want the routes after the address", got)
	}
	now := rt0.Add(time.Second)
	in.handleAdvert(now, received{advert(250), srcB}) // preempted: releases at once
	if got, want := r.take(), []string{"advert prio=0 dst=224.0.0.18", "routes down", "del " + vip.String()}; !cmp.Equal(got, want) {
		t.Errorf("release: %q, want %q", got, want)
	}
}

func index(l []string, s string) int {
	for i, x := range l {
		if x == s {
			return i
		}
	}
	return -1
}
