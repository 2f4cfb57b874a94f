package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// The raw-TCP ceiling moves the same payload bytes as the messenger
// workload over plain loopback TCP, with no protocol: a connection starts
// with the message size (8 bytes, little endian), then carries messages of
// exactly that many bytes; the server answers each with 8 bytes holding
// the byte count it received, like the messenger server's small reply.

// RawServer is the echo side of the raw-TCP workload: one goroutine per
// connection, reads batched through a 256 KiB buffer, answers batched
// until the next read would wait.
type RawServer struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

// ListenRaw starts a raw server on addr ("127.0.0.1:0" picks a port).
func ListenRaw(addr string) (*RawServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bench: raw listen: %w", err)
	}
	s := &RawServer{ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the listening address.
func (s *RawServer) Addr() string { return s.ln.Addr().String() }

func (s *RawServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.done {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

func (s *RawServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReaderSize(c, 256<<10)
	w := bufio.NewWriterSize(c, 4<<10)
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return
	}
	size := binary.LittleEndian.Uint64(hdr[:])
	if size == 0 || size > 1<<32 {
		return
	}
	binary.LittleEndian.PutUint64(hdr[:], size)
	for {
		if uint64(r.Buffered()) < size && w.Buffered() > 0 {
			if w.Flush() != nil {
				return
			}
		}
		if _, err := r.Discard(int(size)); err != nil {
			return
		}
		if _, err := w.Write(hdr[:]); err != nil {
			return
		}
	}
}

// Close stops the server and waits for its goroutines.
func (s *RawServer) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	s.done = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// rawClientConn is one client connection: a writer goroutine sends the
// messages asked for (batched into one writev when several wait), a
// reader goroutine times the answers in order.
type rawClientConn struct {
	c    net.Conn
	asks chan int64 // timestamps of messages to send
	fifo chan int64 // timestamps of messages sent, in order
}

// RunRaw measures spec over plain TCP against the raw server at addr.
func RunRaw(ctx context.Context, addr string, spec Spec, probe *Probe) (Result, error) {
	if err := spec.Validate(); err != nil {
		return Result{}, err
	}
	payload := make([]byte, spec.Size)
	for i := range payload {
		payload[i] = byte(i)
	}
	conns := make([]*rawClientConn, spec.Conns)
	var wg sync.WaitGroup
	quit := make(chan struct{})
	defer func() {
		close(quit)
		for _, rc := range conns {
			if rc != nil {
				rc.c.Close()
			}
		}
		wg.Wait()
	}()
	var d net.Dialer
	for i := range conns {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return Result{}, fmt.Errorf("bench: raw dial %s: %w", addr, err)
		}
		var hdr [8]byte
		binary.LittleEndian.PutUint64(hdr[:], uint64(spec.Size))
		if _, err := c.Write(hdr[:]); err != nil {
			c.Close()
			return Result{}, fmt.Errorf("bench: raw: %w", err)
		}
		window := spec.Depth + 1
		if spec.Rate > 0 {
			window = 4096 // open loop: what may be outstanding per connection
		}
		conns[i] = &rawClientConn{c: c, asks: make(chan int64, window), fifo: make(chan int64, window)}
	}
	loop := newClosedLoop(spec, func(conn int, sentAt int64) error {
		select {
		case conns[conn].asks <- sentAt:
			return nil
		case <-quit:
			return net.ErrClosed
		}
	})
	for i, rc := range conns {
		wg.Add(2)
		go func() {
			defer wg.Done()
			rc.write(payload, quit)
		}()
		go func() {
			defer wg.Done()
			rc.read(loop, i, uint64(spec.Size))
		}()
	}
	if probe == nil {
		probe = &Probe{}
	}
	settle()
	probe.started(loop)
	loop.start()
	r, err := loop.wait(ctx)
	probe.ended()
	probe.finish(&r, loop.hist)
	return r, err
}

func (rc *rawClientConn) write(payload []byte, quit <-chan struct{}) {
	bufs := make(net.Buffers, 0, cap(rc.asks))
	for {
		select {
		case ts := <-rc.asks:
			bufs = append(bufs[:0], payload)
			rc.fifo <- ts
		case <-quit:
			return
		}
	batch:
		for len(bufs) < cap(bufs) {
			select {
			case ts := <-rc.asks:
				rc.fifo <- ts
				bufs = append(bufs, payload)
			default:
				break batch
			}
		}
		wb := bufs // WriteTo consumes its receiver
		if _, err := wb.WriteTo(rc.c); err != nil {
			return
		}
	}
}

func (rc *rawClientConn) read(loop *closedLoop, conn int, size uint64) {
	r := bufio.NewReaderSize(rc.c, 4<<10)
	var ack [8]byte
	for {
		if _, err := io.ReadFull(r, ack[:]); err != nil {
			if !loop.stopped.Load() && !errors.Is(err, net.ErrClosed) {
				loop.fail(fmt.Errorf("bench: raw read on connection %d: %w", conn, err))
			}
			return
		}
		ts := <-rc.fifo
		loop.answered(conn, ts, binary.LittleEndian.Uint64(ack[:]) == size)
	}
}
