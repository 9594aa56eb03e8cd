package kaimport

import (
	"math"
	"strconv"
	"time"
)

// int reads the integer at word i of s; a bad one is noted and gives 0.
func (c *converter) int(s *Stmt, i int) int {
	if i >= len(s.Words) {
		c.note(s, "missing number")
		return 0
	}
	n, err := strconv.Atoi(s.Words[i])
	if err != nil {
		c.note(s, "not a whole number: %q", s.Words[i])
		return 0
	}
	return n
}

// duration reads word i as a number of units (keepalived writes seconds,
// possibly fractional: advert_int 0.1), rounded to the millisecond.
func (c *converter) duration(s *Stmt, i int, unit time.Duration) time.Duration {
	if i >= len(s.Words) {
		c.note(s, "missing number")
		return 0
	}
	f, err := strconv.ParseFloat(s.Words[i], 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		c.note(s, "not a non-negative number: %q", s.Words[i])
		return 0
	}
	return time.Duration(math.Round(f*float64(unit)/float64(time.Millisecond))) * time.Millisecond
}

func (c *converter) durationPtr(s *Stmt, i int, unit time.Duration) *time.Duration {
	d := c.duration(s, i, unit)
	return &d
}
