// Package ipvsvm runs the balancer's kernel IPVS tests against a real
// kernel: Debian's own (package linux-image-amd64, which ships the ip_vs
// modules), booted under QEMU (TCG) from a small initramfs whose /init
// loads the IPVS modules and runs the test binary of test/ipvsvm/guest.
// Most guest tests build their topology in network namespaces inside the
// VM. The VM's one NIC (virtio, lan0 in the guest) is a TAP on the bridge
// of namespaces this test creates on the host (a client and a real
// server), so TestVrrpdOverTAP balances host connections through the
// VM's IPVS: the first step of the lab's -dataplane ipvs-vm. No packet
// leaves the VM and those namespaces.
//
// `go test ./test/ipvsvm/` does everything: it installs qemu-system-x86,
// busybox-static, ipvsadm and kmod when missing, downloads the kernel
// package (apt-get download; it is unpacked, never installed) into
// /var/cache/hachat-ipvsvm, builds the initramfs, boots it and passes only
// when the guest prints its PASS line. It skips, saying why, when it is not
// root or when QEMU or the kernel package cannot be installed. The
// initramfs is written by this package (cpio newc, see cpio.go), so /dev/console
// exists without mknod.
package ipvsvm
