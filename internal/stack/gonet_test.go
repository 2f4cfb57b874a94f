//go:build unix

package stack

import (
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestGoNetReleasedWorker: a worker whose last user released it stops
// taking work (GoNet's workers are per user, unlike the loops).
func TestGoNetReleasedWorker(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := NewGoNet()
	w, rel := st.Pick()
	on(t, w, func() {})
	rel()
	deadline := time.Now().Add(5 * time.Second)
	for w.Exec(func() {}) == nil {
		if time.Now().After(deadline) {
			t.Fatal("worker still takes work after release")
		}
		time.Sleep(time.Millisecond)
	}
	if err := w.Exec(func() {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Exec after release: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}
