// Package chatdit holds chatload's integration tests against in-process
// chatd nodes (package github.com/hachat/hachat/chatd). It is a separate
// package so that chatload's own tests never depend on chatd building.
package chatdit
