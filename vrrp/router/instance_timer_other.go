//go:build !linux

package router

func newLoopTimer(prio int) (loopTimer, error) { return newGoTimer(), nil }
