//go:build linux || darwin || freebsd

package event

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestPoolPick(t *testing.T) {
	p, err := NewPool(Options{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	// Ties go round robin: an idle pool spreads three picks over three.
	seen := map[int]bool{}
	var picked []*Worker
	for range 3 {
		w := p.Pick()
		seen[w.ID()] = true
		picked = append(picked, w)
	}
	if len(seen) != 3 {
		t.Fatalf("3 picks on an idle pool used workers %v", seen)
	}
	for _, w := range p.Workers() {
		if w.Load() != 1 {
			t.Fatalf("worker %d load %d, want 1", w.ID(), w.Load())
		}
	}
	// Least loaded wins over round robin.
	picked[1].Leave()
	for range 4 {
		w := p.Pick()
		if w != picked[1] {
			t.Fatalf("picked worker %d (load %d), want the least loaded %d", w.ID(), w.Load(), picked[1].ID())
		}
		w.Leave()
	}
	if p.Options().Workers != 3 || p.Options().MaxWait != DefaultMaxWait {
		t.Fatalf("options %+v", p.Options())
	}
}

func TestPoolWorkersRunTheirOwnLoops(t *testing.T) {
	p, err := NewPool(Options{Workers: 2, LockOSThread: true})
	if err != nil {
		t.Fatal(err)
	}
	ws := p.Workers()
	for _, w := range ws {
		in, other := false, true
		onLoop(t, w.Center(), func() {
			in = w.Center().InLoop()
			other = ws[1-w.ID()].Center().InLoop()
		})
		if !in || other {
			t.Fatalf("worker %d: InLoop own=%v other=%v", w.ID(), in, other)
		}
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	for _, w := range ws {
		if err := w.Center().Call(context.Background(), func() {}); !errors.Is(err, ErrStopped) {
			t.Fatalf("Call on a stopped worker: %v", err)
		}
	}
}

func TestRegistrySharingAndRelease(t *testing.T) {
	r := NewRegistry()
	a, err := r.Acquire("msgr", Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Acquire("msgr", Options{Workers: 5}) // first creator decides
	if err != nil {
		t.Fatal(err)
	}
	other, err := r.Acquire("other", Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if a.Pool() != b.Pool() || len(b.Pool().Workers()) != 2 {
		t.Fatal("same name did not share one pool")
	}
	if other.Pool() == a.Pool() || r.Len() != 2 {
		t.Fatal("different names shared a pool")
	}
	pool := a.Pool()
	if err := a.Release(); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(); !errors.Is(err, ErrPoolReleased) {
		t.Fatalf("double Release: %v", err)
	}
	// Still leased by b: it keeps running.
	onLoop(t, pool.Workers()[0].Center(), func() {})
	if err := b.Release(); err != nil {
		t.Fatal(err)
	}
	if err := pool.Workers()[0].Center().Dispatch(func() {}); !errors.Is(err, ErrStopped) {
		t.Fatalf("pool still runs after its last release: %v", err)
	}
	if r.Len() != 1 {
		t.Fatalf("registry holds %d pools, want 1", r.Len())
	}
	// Restart: the name gets a fresh, working pool.
	c, err := r.Acquire("msgr", Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c.Pool() == pool || len(c.Pool().Workers()) != 1 {
		t.Fatal("acquire after the last release reused the stopped pool")
	}
	onLoop(t, c.Pool().Pick().Center(), func() {})
	c.Release()
	other.Release()
	if r.Len() != 0 {
		t.Fatalf("registry holds %d pools after all releases", r.Len())
	}
}

func TestRegistryConcurrent(t *testing.T) {
	r := NewRegistry()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				l, err := r.Acquire("shared", Options{Workers: 1})
				if err != nil {
					t.Error(err)
					return
				}
				// Stop of a previous generation may race with this use;
				// a lease guarantees the pool runs until released.
				if err := l.Pool().Pick().Center().Call(context.Background(), func() {}); err != nil {
					t.Errorf("Call on a leased pool: %v", err)
				}
				if err := l.Release(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if r.Len() != 0 {
		t.Fatalf("%d pools left", r.Len())
	}
}

func TestDefaultRegistry(t *testing.T) {
	l, err := Acquire("event-test", Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if Default().Len() < 1 {
		t.Fatal("Acquire did not use the default registry")
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestReleaseFromOwnLoop(t *testing.T) {
	r := NewRegistry()
	l, err := r.Acquire("self", Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	ws := l.Pool().Workers()
	var relErr error
	// The last release runs on worker 0's loop: it must not wait for
	// its own loop (deadlock) yet must stop everything.
	onLoop(t, ws[0].Center(), func() { relErr = l.Release() })
	if relErr != nil {
		t.Fatal(relErr)
	}
	for _, w := range ws {
		recv(t, w.Done())
		if err := w.Err(); err != nil {
			t.Fatalf("worker %d: %v", w.ID(), err)
		}
	}
}
