// Package vrrpd is the vrrpd daemon without its command line: the VRRPv3
// instances of package vrrp/router (the protocol, RFC 5798 and RFC 9568,
// is package vrrp) and the L4 balancer of package ipvs, wired to the
// kernel (package vrrp/host) and kept in step with a YAML configuration
// (package config).
//
// Serve runs the daemon until its context is done: it applies the
// configuration, serves the control socket (package control, for vrrpctl)
// and the Prometheus metrics, reloads on SIGHUP and, on the way out, hands
// over (priority 0 adverts) before removing the virtual addresses.
//
// The parts, one file each:
//
//   - node.go: the Node supervisor, which owns the running instances, their
//     sockets (one Demux per interface and family), trackers, sync groups,
//     notify hooks and the balancer.
//   - node_apply.go: the reload diff (Apply): unchanged instances are not
//     touched, changed ones are updated in place or restarted; the balancer
//     is asked first and may refuse the whole configuration. Instances that
//     cannot start yet are retried on a timer.
//   - node_roles.go: role reporting, which tells the balancer about MASTER
//     changes in order without making an instance late with its adverts.
//   - ctl.go: the control socket's handler and the reload it performs.
//   - balancer.go: BalancerConfig, the translation of virtual_servers and
//     lvs_sync into the balancer's own ipvs.Config, as node.go translates
//     instances into router.InstanceConfig.
//   - alerts.go: keepalived's smtp_alert, mailed without ever blocking.
//   - kernel.go: the Kernel interface, everything the daemon asks of the
//     operating system, so that all of the above runs in tests against
//     vrrp's fakes.
package vrrpd
