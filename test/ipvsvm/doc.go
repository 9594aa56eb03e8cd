// Package ipvsvm runs the balancer's kernel IPVS tests against a real
// kernel: Debian's own (package linux-image-amd64, which ships the ip_vs
// modules), booted under QEMU (TCG, no network device) from a small
// initramfs whose /init loads the IPVS modules and runs the test binary of
// test/ipvsvm/guest. The guest tests build their topology in network
// namespaces inside the VM, so no packet leaves it.
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
