// Package kaimport turns a keepalived.conf (keepalived 2.x syntax, the parts a
// VRRP + LVS deployment uses) into a vrrpd configuration, and lists every line
// it could not carry over and why, so a migration never drops a setting
// silently.
//
// It reads vrrp_instance, vrrp_sync_group, vrrp_script, vrrp_track_file,
// global_defs, virtual_server with real_server and the TCP_CHECK, HTTP_GET,
// SSL_GET and MISC_CHECK checkers, and follows include directives (globs,
// relative to the including file, as keepalived does).
package kaimport
