package rados_test

import (
	"fmt"
	"slices"
	"testing"

	. "github.com/gomsgr/msgr/rados"
)

// An Iter lists what ListObjects lists, in the same order; Seek to a
// token taken during the listing resumes at the start of that PG.
func TestIterSeekToken(t *testing.T) {
	c, _ := newFake(t)
	ctx := ctxT(t)
	io, err := c.OpenIOContext(ctx, "vec")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		if err := io.WriteFull(ctx, fmt.Sprintf("obj%d", i), []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	if err := io.ListObjects(ctx, func(oid string) { want = append(want, oid) }); err != nil {
		t.Fatal(err)
	}
	it, err := io.Iter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var got []string
	var tokens []IterToken
	for it.Next(ctx) {
		got = append(got, it.Value())
		tokens = append(tokens, it.Token())
		if it.Namespace() != "" {
			t.Fatalf("namespace %q", it.Namespace())
		}
	}
	if it.Err() != nil || !slices.Equal(got, want) {
		t.Fatalf("Iter listed %v (%v), ListObjects %v", got, it.Err(), want)
	}
	// PG after PG: each token's objects come together.
	seen := map[IterToken]bool{}
	for i, tok := range tokens {
		if i > 0 && tok != tokens[i-1] && seen[tok] {
			t.Fatalf("tokens %v: PG %d comes back", tokens, tok)
		}
		seen[tok] = true
	}
	if len(seen) < 2 {
		t.Fatalf("tokens %v: one PG", tokens)
	}
	// Resume at the PG of the middle object: the listing from the first
	// object of that PG on.
	mid := len(got) / 2
	first := slices.Index(tokens, tokens[mid])
	it2, _ := io.Iter(ctx)
	it2.Seek(tokens[mid])
	var rest []string
	for it2.Next(ctx) {
		rest = append(rest, it2.Value())
	}
	if !slices.Equal(rest, got[first:]) {
		t.Fatalf("after Seek(%d): %v, want %v", tokens[mid], rest, got[first:])
	}
}
