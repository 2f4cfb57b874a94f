// Package bench is the measurement harness behind `msgr bench`: closed-loop
// workloads (N connections × D messages in flight) over the messenger on
// either network stack and over raw TCP, a latency histogram, process
// sampling (CPU, RSS, allocations, goroutines), idle-session scale, and the
// outputs: a text table with ratios, JSON and an SVG plot.
package bench

import "errors"

var (
	// ErrSpec reports an impossible case (no size, no connections, ...).
	ErrSpec = errors.New("bench: invalid spec")
	// ErrShort reports a workload that ended with messages unanswered or
	// with answers that do not match what was sent.
	ErrShort = errors.New("bench: workload incomplete")
	// ErrStack reports an unknown stack name.
	ErrStack = errors.New("bench: unknown stack")
)
