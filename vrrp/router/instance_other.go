//go:build !linux

package router

import "errors"

var errNoRealtime = errors.New("realtime priority is only supported on Linux")

func setRealtime(int) error { return errNoRealtime }

// SetProcessRealtime is supported on Linux only.
func SetProcessRealtime(int) (int, error) { return 0, errNoRealtime }
