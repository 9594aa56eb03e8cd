// Package balancer holds the namespace tests and the benchmark of the
// balancer's nftables data plane (package ipvs/nft), on a topology of
// network namespaces built with test/netns:
//
//	client (198.18.1.10, 198.18.2.10)
//	   |  switch (a bridge in its own namespace)
//	lb1 (198.18.1.11, .2.11)  lb2 (198.18.1.12, .2.12)   VIPs 198.18.1.100 and 198.18.2.254 on the master
//	app1 (198.18.2.21)  app2 (198.18.2.22)               default route via 198.18.2.254 (NAT mode)
//
// The balancers run as helper processes (this package's test binary
// re-executed inside lb1 and lb2), so that their health checks and netlink
// sockets live in the balancers' namespaces. VRRP is not part of these
// tests: the test moves the virtual addresses itself and tells the
// balancers their role with signals (SIGUSR1 master, SIGUSR2 backup).
package balancer
