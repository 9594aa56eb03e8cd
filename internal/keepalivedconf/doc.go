// Package keepalivedconf turns a keepalived.conf (keepalived 2.x syntax, the parts a
// VRRP + LVS deployment uses; keepalived.conf(5) is the specification) into a
// vrrpd configuration, and sorts every line it did not carry over as it was
// into one of three kinds, so a migration never drops a setting silently:
//
//   - a note: carried over in another form, with the same behaviour (the
//     label of an address, an initial state, a resolved command path);
//   - a loss: the vrrpd configuration behaves differently there (a virtual
//     route not installed, a static route not installed); vrrpctl exits 3;
//   - a refusal: the input cannot be converted into something that does
//     what it did (shell syntax in a script, a conditional configuration
//     that selects no script); vrrpctl exits 1 and writes nothing.
//
// It reads global_defs, vrrp_instance, vrrp_sync_group (with or without a
// group block), vrrp_script, vrrp_track_file, virtual_server and
// virtual_server_group with real_server and the TCP_CHECK, HTTP_GET,
// SSL_GET, MISC_CHECK, SMTP_CHECK, DNS_CHECK, UDP_CHECK and PING_CHECK
// checkers, with keepalived's defaults for each; follows include lines
// (globs, relative to the including file, as keepalived does; a name that
// matches nothing is an error); and applies conditional @ID lines for a
// given config id, as keepalived -i does. Time and memory are linear in the
// input, and Import stops when its context is done.
package keepalivedconf
