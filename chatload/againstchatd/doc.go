// Package againstchatd runs chatload's storms, steady runs and failovers
// against in-process chatd nodes (package github.com/hachat/hachat/chatd):
// the load tool's integration tests. It is a separate package so that
// chatload's own tests never depend on chatd building.
package againstchatd
