// Package cputime measures the CPU time of a benchmark's timed part, a figure
// that, unlike wall time, does not grow with other work on the machine.
//
// Cost: one getrusage system call per Start and Stop.
package cputime

import (
	"syscall"
	"testing"
	"time"
)

// Clock measures the process's CPU time (user and system, every thread, so
// garbage collection included) over the timed part of a benchmark. On a
// machine shared with other work, wall time per operation grows with the
// load while CPU time does not, so the tables print both.
type Clock struct {
	total, since time.Duration
	running      bool
}

// Start starts the clock.
func Start() *Clock { c := &Clock{}; c.Start(); return c }

// Start resumes the clock (after Stop).
func (c *Clock) Start() { c.since, c.running = cpuNow(), true }

// Stop pauses the clock, as b.StopTimer does.
func (c *Clock) Stop() {
	if c.running {
		c.total += cpuNow() - c.since
		c.running = false
	}
}

// Total returns the CPU time counted so far (the clock stopped).
func (c *Clock) Total() time.Duration { c.Stop(); return c.total }

// Report stops the clock and reports CPU milliseconds per operation.
func (c *Clock) Report(b *testing.B) {
	c.Stop()
	if b.N > 0 {
		b.ReportMetric(float64(c.total)/float64(b.N)/1e6, "cpu-ms/op")
	}
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
