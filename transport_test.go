package msgr

import (
	"context"
	"testing"

	"github.com/gomsgr/msgr/encoding"
)

// TestStacksPublic: a messenger on a private one-loop event pool and one
// on the goroutine-per-connection stack, both made with the public
// constructors, exchange messages; each stack closes after its messenger.
func TestStacksPublic(t *testing.T) {
	loops, err := NewEventLoopStack("msgr-test-private", 1)
	if err != nil {
		t.Fatal(err)
	}
	gonet := NewGoNetStack()
	for _, s := range []Stack{loops, gonet} {
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	if loops.Name() != "eventloop" || gonet.Name() != "gonet" {
		t.Fatalf("stacks %q, %q", loops.Name(), gonet.Name())
	}
	mk := func(name encoding.EntityName, s Stack, bind bool, d Dispatcher) *Messenger {
		m, err := New(Config{Name: name, Nonce: 7, Registry: testRegistry(t), Stack: s}, Options{Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		if bind {
			if err := m.Bind(context.Background(), netipLoopback0()); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
		m.AddDispatcherHead(d)
		t.Cleanup(func() { shutdown(t, m) })
		return m
	}
	srvRec := newRecorder()
	srvRec.echo = true
	srv := mk(osdName(0), loops, true, srvRec)
	srv.SetDefaultPolicy(StatelessServer(0))
	cliRec := newRecorder()
	cli := mk(clientName(1), gonet, false, cliRec)
	cli.SetDefaultPolicy(LossyClient(0))
	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := range n {
		if err := c.Send(&testMsg{From: 1, Seq: uint64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	cliRec.waitFor(t, "echoes", func() bool { return cliRec.count() == n })
	for i, m := range cliRec.msgs {
		if m.Seq != uint64(i) {
			t.Fatalf("echo %d has seq %d", i, m.Seq)
		}
	}
}
