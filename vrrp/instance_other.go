//go:build !linux

package vrrp

import "errors"

func setRealtime(int) error { return errors.New("realtime priority is only supported on Linux") }
