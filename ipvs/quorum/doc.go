// Package quorum decides which destinations a virtual service of the L4
// balancer holds, from the health of its real servers: keepalived's quorum,
// hysteresis, sorry_server, inhibit_on_failure and sorry_server_inhibit
// (keepalived.conf(5), "LVS CONFIGURATION").
//
// [Effective] turns a virtual service's real servers (weight, up/down,
// inhibit_on_failure) plus quorum, hysteresis and an optional sorry server
// into the destination set the data plane should hold. It is a pure
// function of its inputs and the previous quorum [State], so its rules are
// table tests; the health verdicts come from package health, and the
// balancer (package ipvs) turns the result into table.Service values.
//
// [Effective] follows keepalived's check/ipwrapper.c: the quorum is gained
// when the sum of the weights of the up real servers reaches
// Quorum+Hysteresis, and lost when it falls below Quorum-Hysteresis or to
// zero. While the quorum is lost and a sorry server is configured, the sorry
// server takes the traffic and the real servers are withdrawn (removed, or
// kept at weight 0 when they are inhibit_on_failure); without a sorry
// server the quorum only changes the reported state, so that the caller can
// run its quorum_up/quorum_down commands. When the quorum holds, the sorry
// server is removed, or kept at weight 0 with sorry_server_inhibit.
package quorum
