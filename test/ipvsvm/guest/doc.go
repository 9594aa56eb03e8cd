// Package guest holds the tests that run inside the QEMU VM of
// test/ipvsvm, against the real kernel IPVS of Debian's kernel. They skip
// unless IPVS_VM=1, which only the VM's /init sets.
package guest
