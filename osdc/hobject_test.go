package osdc

import (
	"testing"

	"github.com/gomsgr/msgr/messages"
)

func TestBackoffRange(t *testing.T) {
	// Bitwise order sorts by the bit-reversed hash: b (key 0x1) < in
	// (0x04000000) < a (0x08000000) < out (0x80000000).
	a := messages.HObject{Oid: "a", Hash: 0x10, Pool: 1}
	b := messages.HObject{Oid: "b", Hash: 0x80000000, Pool: 1}
	in := messages.HObject{Oid: "z", Hash: 0x20, Pool: 1}
	out := messages.HObject{Oid: "q", Hash: 0x01, Pool: 1}
	pg := messages.PG{Pool: 1, Seed: 0}
	tests := []struct {
		name string
		bo   backoff
		h    messages.HObject
		pg   messages.PG
		want bool
	}{
		{"single object match", backoff{pg: pg, begin: a, end: a}, a, pg, true},
		{"single object other", backoff{pg: pg, begin: a, end: a}, in, pg, false},
		{"other pg", backoff{pg: pg, begin: a, end: a}, a, messages.PG{Pool: 1, Seed: 1}, false},
		{"range start", backoff{pg: pg, begin: b, end: out}, b, pg, true},
		{"range inside", backoff{pg: pg, begin: b, end: out}, in, pg, true},
		{"range inside 2", backoff{pg: pg, begin: b, end: out}, a, pg, true},
		{"range end excluded", backoff{pg: pg, begin: b, end: out}, out, pg, false},
		{"before range", backoff{pg: pg, begin: in, end: out}, b, pg, false},
		{"max end", backoff{pg: pg, begin: b, end: messages.HObject{Max: true}}, out, pg, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.bo.covers(tt.pg, &tt.h); got != tt.want {
				t.Fatalf("covers = %v", got)
			}
		})
	}
}
