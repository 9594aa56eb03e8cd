package netns

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Benchmarks on a two-core machine cannot give a balancer a machine of its
// own, but they can give it a core: Pin puts processes on CPUs, and SteerRx
// uses receive packet steering (RPS) to choose the CPU on which the kernel
// processes what an interface receives. A veth hands every frame it carries
// to netif_rx on the receiving side, which honours RPS, so steering the
// balancer's interface to one CPU and every other interface to the other
// puts all of the balancer's packet work (conntrack, NAT, forwarding, or a
// proxy's TCP stack) on that CPU, where test/cpusoak can measure it.

// Pin sets the CPU affinity of every thread of process pid (0: this
// process). Threads created later inherit their creator's affinity.
func Pin(pid int, cpus ...int) error {
	var set unix.CPUSet
	if len(cpus) == 0 {
		n, err := cpuCount()
		if err != nil {
			return err
		}
		for c := range n {
			set.Set(c)
		}
	}
	for _, c := range cpus {
		set.Set(c)
	}
	return eachThread(pid, func(tid int) error {
		if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
			return fmt.Errorf("netns: pin thread %d to %v: %w", tid, cpus, err)
		}
		return nil
	})
}

func cpuCount() (int, error) {
	// "0-1", or "0" on one CPU.
	b, err := os.ReadFile("/sys/devices/system/cpu/possible")
	if err != nil {
		return 0, fmt.Errorf("netns: cpus: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexAny(s, "-,"); i >= 0 {
		s = s[i+1:]
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("netns: cpus: parse %q: %w", b, err)
	}
	return n + 1, nil
}

// SteerRx makes the kernel process what the cable's host end receives on
// hostCPUs and what its switch end receives on switchCPUs. No CPUs turns
// steering off (frames are processed on the CPU that sent them).
func (p *Port) SteerRx(hostCPUs, switchCPUs []int) error {
	if err := steer(p.host, p.ifname, hostCPUs); err != nil {
		return err
	}
	return steer(p.sw.Host, p.peer, switchCPUs)
}

func steer(h *Host, ifname string, cpus []int) error {
	var mask uint64
	for _, c := range cpus {
		mask |= 1 << c
	}
	// sysfs shows the devices of the namespace that mounted it: "ip netns
	// exec" mounts a fresh one, so write from there.
	path := filepath.Join("/sys/class/net", ifname, "queues", "rx-0", "rps_cpus")
	_, err := h.Run(context.Background(), "sh", "-c", fmt.Sprintf("echo %x > %s", mask, path))
	return err
}
