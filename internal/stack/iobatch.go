package stack

import (
	"errors"
	"sync"
	"time"

	"github.com/gomsgr/msgr/internal/event"
	"github.com/gomsgr/msgr/internal/sock"
)

// A loop that serves many connections in one step used to pay a read
// and a writev per connection. On a paravirtualised guest a system
// call's entry and exit cost about as much as a small loopback send
// (issue 12: the CPU of a 4 KiB round trip at 16 connections was 60%
// system calls), so a loop batches both through one io_uring (sock.Ring):
//   - receives: when a poll finds several sockets readable, one
//     submission reads them all before any handler runs (Prefetch);
//   - sends: a step's first small write goes out at once (a step with
//     one writer pays nothing more, and its peer starts at once); the
//     step's later small writes are copied to a staging arena and go out
//     together at the step's end, or as soon as the step has moved
//     flushAfter bytes (big messages make long steps).
// Without io_uring, every read and write is its own system call, as
// before.
//
// To its connection a staged write has been written: the bytes are
// copied, and the connection's buffers are its own again. What a staged
// send then meets is the socket's to handle:
//   - no room for all of it: the rest waits in a buffer of the socket's
//     own, the socket waits for writability itself (backlog) and sends it
//     before any new write, and the connection's next writes report
//     ErrWouldBlock until it is out;
//   - an error: it is kept (werr) and returned by the socket's next Read
//     or Writev; the handler is told at the step's end through
//     OnReadable, as the kernel reports a failed socket readable.
//
// Order holds: a socket's bytes leave in the order written, since a write
// that does not stage (too big, or the socket has staged bytes it cannot
// add to) first sends what is staged, in the same writev.
//
// If the ring itself fails, the loop stops batching (dropRing). Sends it
// never started go out one by one; a send or receive it lost in flight
// fails its socket with sock.ErrRingLost, since its bytes may or may not
// have moved, and the arenas the kernel may still use are never reused.

// stageMax bounds the bytes a socket stages in one step: small messages
// and acks. Bigger writes go out at once; copying them would cost more
// than the system call saved.
const stageMax = 32 << 10

// arenaSize is the most room a loop stages in per step (about 240
// sockets' 4 KiB messages; 256 KiB, 60 of them, gave 4K at 256
// connections 20% fewer messages per second); writes that find it full
// go out at once. The arena grows to it from minArena as steps need, and
// staged bytes are carved from it, so staging allocates nothing once it
// has grown. It is free again after each step's flush: bytes still
// waiting for room move to a buffer of their socket's own.
const arenaSize = 1 << 20

// arenaIdle is how long a loop keeps its arenas once it stops using
// them: a loop that goes quiet (idle sessions) holds no buffers, as a
// connection holds none while no bytes are in flight. They come back,
// zeroed pages and all, with the next batch.
var arenaIdle = 500 * time.Millisecond

// ringEntries is the most operations one submission carries; more go
// in several.
const ringEntries = 64

// A receive made ahead gets preSize of the loop's read arena; a
// handler's Read then copies its bytes from there. Bytes a handler
// leaves (it paused, or read with less room) move to a buffer of the
// socket's own at the step's end, and the socket runs its handler again
// from a task, since the kernel will not report them. 8 KiB holds a
// small message and its neighbours; 256 of them (the read arena grows
// to 2 MiB as polls return more) cover what one poll of 256 busy
// connections returns (16 KiB for 64 gave 20% less at 256 connections).
const (
	preSize     = 8 << 10
	maxPrefetch = 256
)

// ioBatch is a loop's batched socket I/O. Loop-owned (the Center's).
type ioBatch struct {
	c    *event.Center
	ring batchRing // nil: no io_uring here; every write goes out at once
	// wrote: a write went out at once in this step (the next small ones
	// stage); armed: flush is queued for the step's end.
	wrote  bool
	armed  bool
	socks  []*loopSocket // staged this step
	spare  []*loopSocket
	failed []*loopSocket
	ops    []sock.RingOp
	arena  []byte
	used   int      // bytes of arena carved this step
	moved  int      // bytes moved at once since the last send (moving)
	vec    [][]byte // scratch for a write through staged bytes
	flush  func()
	// Prefetch's: ops, the sockets they read for, and the arena.
	rops   []sock.RingOp
	rsocks []*loopSocket
	rarena []byte
	// An arena was used since the sweep timer last looked (touched);
	// sweeping: that timer is armed.
	touched, sweeping bool
	sweepFn           func()
	// For tests: writes staged, send submissions, receive submissions.
	stagedWrites, submits, prefetches int
}

// batchRing is what a batch needs of its ring (*sock.Ring; tests fail
// one).
type batchRing interface {
	Do(ops []sock.RingOp) error
	Close() error
}

// batches holds each loop's ioBatch: the loops are shared by every
// messenger of the process, and one batch serves them all.
var batches sync.Map // *event.Center → *ioBatch

// useRing turns batching off when false (tests compare both paths).
var useRing = true

// batchFor returns c's batch, setting it up on c's first socket. Loop
// only.
func batchFor(c *event.Center) *ioBatch {
	if v, ok := batches.Load(c); ok {
		return v.(*ioBatch)
	}
	b := &ioBatch{c: c}
	b.flush = b.flushStep
	if useRing {
		if r, err := sock.NewRing(ringEntries); err == nil {
			b.ring = r
		}
	}
	if err := c.OnStop(b.close); err != nil {
		if b.ring != nil {
			b.ring.Close()
		}
		return &ioBatch{c: c}
	}
	if b.ring != nil {
		_ = c.SetPrefetcher(b)
	}
	batches.Store(c, b)
	return b
}

// grow returns an arena of at least need bytes: a when it is big enough,
// else a new one of twice its size (minArena at first), up to most. A
// step's slices of the old one stay valid: the garbage collector keeps
// it while they last.
func grow(a []byte, need, most int) []byte {
	if need <= len(a) {
		return a
	}
	n := max(2*len(a), minArena)
	for n < need {
		n *= 2
	}
	return make([]byte, min(n, most))
}

// minArena is an arena's first size: a loop that batches a few sockets
// a step holds no more.
const minArena = 64 << 10

// touch notes an arena's use, and makes sure a sweep will look.
func (b *ioBatch) touch() {
	b.touched = true
	if !b.sweeping {
		b.armSweep()
	}
}

func (b *ioBatch) armSweep() {
	if b.sweepFn == nil {
		b.sweepFn = b.sweep
	}
	if _, err := b.c.AddTimerFunc(arenaIdle, b.sweepFn); err == nil {
		b.sweeping = true
	}
}

// sweep lets the arenas go if no step used them since it last looked.
// Between steps no socket holds arena bytes (the step's end moved them
// out), and a use within this step set touched.
func (b *ioBatch) sweep() {
	b.sweeping = false
	if !b.touched {
		b.arena, b.rarena = nil, nil
		return
	}
	b.touched = false
	b.armSweep()
}

// dropRing stops batching once the ring failed. The buffers of ops it
// lost (ErrRingLost), which the kernel may still use, are kept for good,
// and the arenas they are in never reused.
func (b *ioBatch) dropRing(err error, ops []sock.RingOp) {
	_ = b.ring.Close()
	b.ring = nil
	if !errors.Is(err, sock.ErrRingLost) {
		return
	}
	lostArenas.Lock()
	for _, op := range ops {
		if errors.Is(op.Err, sock.ErrRingLost) {
			lostArenas.bufs = append(lostArenas.bufs, op.Buf)
		}
	}
	lostArenas.Unlock()
	b.arena, b.rarena = nil, nil
}

// lostArenas holds the buffers of ops that rings lost in flight.
var lostArenas struct {
	sync.Mutex
	bufs [][]byte
}

func (b *ioBatch) close() {
	batches.Delete(b.c)
	if b.ring != nil {
		_ = b.ring.Close()
		b.ring = nil
	}
}

// wroteAtOnce notes a write that went out at once, so that the step's
// next small writes stage.
func (b *ioBatch) wroteAtOnce() {
	if b == nil || b.ring == nil || b.wrote {
		return
	}
	b.wrote = true
	b.arm()
}

func (b *ioBatch) arm() {
	if !b.armed {
		b.armed = true
		_ = b.c.AtStepEnd(b.flush)
	}
}

// stage copies bufs to s's staging buffer when this step already wrote
// at once and they fit; it reports whether it did.
func (b *ioBatch) stage(s *loopSocket, bufs [][]byte) (int, bool) {
	if b == nil || !b.wrote || s.backlog {
		return 0, false
	}
	total := vecLen(bufs, stageMax+1)
	if len(s.staged)+total > stageMax {
		return 0, false
	}
	if s.staged == nil {
		if b.used+total > len(b.arena) {
			if len(b.arena) >= arenaSize {
				return 0, false
			}
			// A new arena: this step's slices of the old one stay.
			b.arena, b.used = grow(b.arena, len(b.arena)+total, arenaSize), 0
		}
		b.touch()
		// A second write of the step outgrows this and moves to the heap.
		s.staged = b.arena[b.used : b.used : b.used+total]
		b.used += total
		b.socks = append(b.socks, s)
	}
	for _, p := range bufs {
		s.staged = append(s.staged, p...)
	}
	b.stagedWrites++
	return total, true
}

// Prefetch reads for the ready sockets of b's loop, all in one
// submission, before their handlers run.
func (b *ioBatch) Prefetch(ready []event.ReadyFile) {
	if b.ring == nil || len(b.rsocks) > 0 {
		return
	}
	socks := b.rsocks[:0]
	for _, r := range ready {
		s, ok := r.H.(*loopSocket)
		if !ok || r.Mask&event.Readable == 0 || !s.mayPrefetch(b) {
			continue
		}
		socks = append(socks, s)
		if len(socks) == maxPrefetch {
			break
		}
	}
	if len(socks) < 2 {
		clear(socks)
		return
	}
	b.rarena = grow(b.rarena, len(socks)*preSize, maxPrefetch*preSize)
	b.touch()
	ops := b.rops[:0]
	for i, s := range socks {
		k := i * preSize
		ops = append(ops, sock.RingOp{FD: s.fd, Buf: b.rarena[k : k+preSize : k+preSize], Recv: true})
	}
	b.prefetches++
	err := b.ring.Do(ops)
	for i, s := range socks {
		// A receive the ring never started only goes unread ahead; a
		// lost one fails its socket.
		if !errors.Is(ops[i].Err, sock.ErrNotStarted) {
			s.prefetched(ops[i].Buf, ops[i].N, ops[i].Err)
		}
	}
	if err != nil {
		b.dropRing(err, ops)
	}
	clear(ops)
	b.rops = ops[:0]
	b.rsocks = socks
	b.arm()
}

// flushStep ends b's step: it settles the step's prefetched bytes,
// sends what is staged, and tells the handlers of the sends that failed.
func (b *ioBatch) flushStep() {
	b.armed, b.wrote, b.moved = false, false, 0
	for i, s := range b.rsocks {
		s.settlePrefetch()
		b.rsocks[i] = nil
	}
	b.rsocks = b.rsocks[:0]
	b.sendStaged()
	failed := b.failed
	for i, s := range failed {
		b.failed[i] = nil
		s.failed()
	}
	b.failed = failed[:0]
}

// moving counts bytes a socket of b's loop moved outside staging; once
// a step has moved flushAfter, what it staged goes out at once: the
// step is a long one (big messages), and small answers should not wait
// for its end.
func (b *ioBatch) moving(n int) {
	if b == nil {
		return
	}
	if b.moved += n; b.moved >= flushAfter && len(b.socks) > 0 {
		b.moved = 0
		b.sendStaged()
	}
}

// beforeLong sends what is staged before a read or write of up to n
// bytes that may take long: a small answer staged behind a 4 MiB writev
// would wait for all of it.
func (b *ioBatch) beforeLong(n int) {
	if b != nil && n >= flushAfter && len(b.socks) > 0 {
		b.moved = 0
		b.sendStaged()
	}
}

// flushAfter is how many bytes a step moves, or one read or write may
// move, before its staged sends go.
const flushAfter = 128 << 10

// sendStaged sends what is staged, one system call whatever the number
// of sockets; the sends that failed wait in failed for the step's end
// (a handler may be running now).
func (b *ioBatch) sendStaged() {
	socks := b.socks[:0]
	ops := b.ops[:0]
	for _, s := range b.socks {
		if !s.closed && len(s.staged) > 0 {
			socks = append(socks, s)
			ops = append(ops, sock.RingOp{FD: s.fd, Buf: s.staged})
		}
	}
	// Sockets that stage from here on belong to the next send.
	b.socks = b.spare[:0]
	switch {
	case len(ops) == 1 || b.ring == nil:
		for i := range ops {
			ops[i].N, ops[i].Err = sock.Write(ops[i].FD, ops[i].Buf)
		}
	case len(ops) > 1:
		b.submits++
		if err := b.ring.Do(ops); err != nil {
			// The ring itself failed: send one by one from now on. A
			// lost send fails its socket (its bytes may have gone).
			b.dropRing(err, ops)
			for i := range ops {
				if errors.Is(ops[i].Err, sock.ErrNotStarted) {
					ops[i].N, ops[i].Err = sock.Write(ops[i].FD, ops[i].Buf)
				}
			}
		}
	}
	for i, s := range socks {
		if !s.sent(ops[i].N, ops[i].Err) {
			b.failed = append(b.failed, s)
		}
	}
	// No socket holds arena bytes now.
	b.used = 0
	clear(ops)
	b.ops = ops[:0]
	clear(socks)
	b.spare = socks[:0]
}
