//go:build !linux

package vrrp

func newLoopTimer(prio int) (loopTimer, error) { return newGoTimer(), nil }
