package rados_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gomsgr/msgr/internal/cephtest"
	. "github.com/gomsgr/msgr/rados"
)

// connectFaulty connects a client whose connections fail about one
// socket operation in every (ms_inject_socket_failures).
func connectFaulty(t *testing.T, conf string, every int) *Conn {
	t.Helper()
	return connectWith(t, conf, map[string]string{"ms_inject_socket_failures": strconv.Itoa(every)})
}

// Reads land in the caller's buffer, straight from the socket where the
// connection can (crc mode over msgr2, and msgr1) and copied where it
// cannot (secure mode: the data is one AES-GCM record with the rest of
// the message): whole, short, offset, past the end, empty, missing.
func TestReadIntoLive(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		direct    bool // 4 MiB reads are read straight into the buffer
	}{
		{"crc", cephtest.Rados, true},
		{"secure", cephtest.Secure, false},
		{"msgr1", "MSGR_TEST_CEPH_MSGR1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := cephtest.ConfPath(t, tc.env)
			c := connect(t, conf)
			pool := testPool(t, c, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			io, err := c.OpenIOContext(ctx, pool)
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range []int{1000, 64 << 10, 100<<10 + 1, 4 << 20} {
				data := randomBytes(size)
				oid := fmt.Sprintf("into-%d", size)
				if err := io.WriteFull(ctx, oid, data); err != nil {
					t.Fatal(err)
				}
				for _, rc := range []struct {
					name     string
					buf, off int
				}{
					{"whole", size, 0},
					{"bigger", size + 4096, 0},
					{"half", size / 2, size / 4},
					{"tail", 1 << 20, size - 1000},
					{"past-end", 4096, size + 10},
					{"empty", 0, 0},
				} {
					buf := bytes.Repeat([]byte{0xee}, rc.buf)
					n, direct, err := ReadDirect(ctx, io, oid, buf, uint64(rc.off))
					if err != nil {
						t.Fatalf("%s of %d: %v", rc.name, size, err)
					}
					want := data[min(rc.off, size):min(rc.off+rc.buf, size)]
					if rc.buf == 0 {
						want = nil
					}
					if n != len(want) || !bytes.Equal(buf[:n], want) {
						t.Fatalf("%s of %d: read %d bytes, want %d, or they differ", rc.name, size, n, len(want))
					}
					if rest := buf[n:]; !bytes.Equal(rest, bytes.Repeat([]byte{0xee}, len(rest))) {
						t.Fatalf("%s of %d: written beyond the %d bytes read", rc.name, size, n)
					}
					if size == 4<<20 && rc.buf >= size/2 && direct != tc.direct {
						t.Fatalf("%s of %d: read straight into the buffer: %v, want %v", rc.name, size, direct, tc.direct)
					}
				}
				// The async read, into a buffer of its own.
				buf := make([]byte, size)
				cp := io.ReadAsync(ctx, oid, buf, 0)
				if err := cp.Wait(ctx); err != nil || cp.BytesRead() != size || !bytes.Equal(buf, data) {
					t.Fatalf("async read of %d: %d bytes, %v", size, cp.BytesRead(), err)
				}
			}
			if _, err := io.Read(ctx, "into-missing", make([]byte, 1<<20), 0); !errors.Is(err, ErrNotFound) {
				t.Fatalf("missing object: %v", err)
			}
		})
	}
}

// A read whose context ends (deadline, cancel) while its reply's data may
// be arriving straight into the caller's buffer never has that buffer
// written after Read returns: each buffer is overwritten at once with a
// pattern (under -race a later write by msgr is a reported race) and
// checked once every reply that could still come has come. ReadAsync's
// cancel likewise, once Done.
func TestReadIntoCancel(t *testing.T) {
	conf := cephtest.ConfPath(t, cephtest.Rados)
	c := connect(t, conf)
	pool := testPool(t, c, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	io, err := c.OpenIOContext(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	const objects, size = 4, 4 << 20
	data := make([][]byte, objects)
	for i := range data {
		data[i] = randomBytes(size)
		if err := io.WriteFull(ctx, fmt.Sprintf("cancel-%d", i), data[i]); err != nil {
			t.Fatal(err)
		}
	}
	// How long a read takes here: deadlines fall from before the request
	// goes out to after its reply is in.
	start := time.Now()
	if _, err := io.Read(ctx, "cancel-0", make([]byte, size), 0); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 2, 20
	single := time.Since(start)
	var mu sync.Mutex
	var returned [][]byte // buffers given back to the caller, patterned
	var ended, whole int
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := mrand.New(mrand.NewPCG(uint64(w), 7))
			for r := range rounds {
				k := rng.IntN(objects)
				oid := fmt.Sprintf("cancel-%d", k)
				buf := make([]byte, size)
				pattern := byte(w*rounds + r)
				d := single/2 + time.Duration(rng.Int64N(int64(workers*single)))
				rctx, rcancel := context.WithTimeout(ctx, d)
				var n int
				var err error
				if r%3 == 0 {
					cp := io.ReadAsync(rctx, oid, buf, 0)
					<-cp.Done()
					err = cp.Wait(ctx)
					n = cp.BytesRead()
				} else {
					n, err = io.Read(rctx, oid, buf, 0)
				}
				rcancel()
				switch {
				case err == nil:
					if n != size || !bytes.Equal(buf, data[k]) {
						t.Errorf("read %s: %d bytes, or they differ", oid, n)
					}
					mu.Lock()
					whole++
					mu.Unlock()
				case errors.Is(err, context.DeadlineExceeded):
					mu.Lock()
					ended++
					mu.Unlock()
				default:
					t.Errorf("read %s: %v", oid, err)
				}
				for i := range buf {
					buf[i] = pattern
				}
				mu.Lock()
				returned = append(returned, buf)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// Replies to one object come in order on its OSD's connection: once
	// a read of every object has returned, no reply to the reads above is
	// still on its way.
	for k := range objects {
		buf := make([]byte, size)
		if n, err := io.Read(ctx, fmt.Sprintf("cancel-%d", k), buf, 0); err != nil || n != size || !bytes.Equal(buf, data[k]) {
			t.Fatalf("read %d: %d bytes, %v", k, n, err)
		}
	}
	for i, buf := range returned {
		p := buf[0]
		for j, b := range buf {
			if b != p {
				t.Fatalf("buffer %d was written at %d after its read returned", i, j)
			}
		}
	}
	t.Logf("deadlines %v + up to %v: %d reads ended by theirs, %d whole", single/2, workers*single, ended, whole)
}

// Writes send the caller's slice without copying it, reads land in the
// caller's buffer, and connections fault under both (about one socket
// operation in 40 fails: ops are resent after resets, some with their
// reply's data under way). Each written slice is overwritten as soon as
// its write returns (under -race a later read by msgr, e.g. a resend, is
// a reported race); every read back, into a fresh buffer, returns what
// was written.
func TestBuffersUnderResets(t *testing.T) {
	conf := cephtest.ConfPath(t, cephtest.Rados)
	admin := connect(t, conf)
	pool := testPool(t, admin, 1)
	c := connectFaulty(t, conf, 40)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	io, err := c.OpenIOContext(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				oid := fmt.Sprintf("faulty-%d-%d", w, i)
				data := randomBytes(256<<10 + 97<<10*i)
				want := bytes.Clone(data)
				var err error
				switch i % 3 {
				case 0:
					err = io.WriteFull(ctx, oid, data)
				case 1:
					err = io.Write(ctx, oid, data, 0)
				default:
					err = io.WriteFullAsync(ctx, oid, data).Wait(ctx)
				}
				if err != nil {
					t.Errorf("write %s: %v", oid, err)
					return
				}
				for j := range data {
					data[j] = 0xdd
				}
				got := make([]byte, len(want)+1)
				if n, err := io.Read(ctx, oid, got, 0); err != nil || !bytes.Equal(got[:n], want) {
					t.Errorf("read back %s: %d bytes, %v", oid, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if st := c.Objecter().Stats(); st.Resends == 0 {
		t.Fatalf("no op was resent: %+v", st)
	} else {
		t.Logf("objecter: %+v", st)
	}
}
