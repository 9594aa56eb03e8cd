// Package procexec runs the external commands of vrrpd: the scripts of
// health checks (keepalived.conf(5) MISC_CHECK), track scripts (vrrp_script)
// and notify hooks (notify_master, notify_backup, notify_fault, notify_stop,
// notify).
//
// A [Command] runs without a shell, in a process group of its own, with an
// optional environment, working directory and user (keepalived's script
// "user"). Its context bounds it: when the context is done the whole
// process group gets SIGKILL, so that a script that hangs cannot leave
// children behind that pile up on every interval, and a grandchild that
// keeps the output pipe open cannot hold the caller past a short grace
// period. The exit status is the verdict; [ExitCode] reads it back from the
// error for callers that give codes a meaning.
//
// The package sits below both users: package health wraps a Command as a
// prober (health.Exec) for the balancer's checks and vrrpd's track scripts,
// and package vrrp runs notify hooks with it. It never logs.
package procexec
