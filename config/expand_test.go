package config

import (
	"strings"
	"testing"
)

// TestExpandBounded: options that refer to themselves many times over
// (found by FuzzParse, where one input took minutes) expand within a
// fixed budget instead of exponentially.
func TestExpandBounded(t *testing.T) {
	refs := strings.Repeat("$run_dir", 16)
	f, err := Parse([]byte("[global]\nrun_dir = x" + refs + "\nlog_file = " + refs + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := New(f, DefaultName)
	for _, k := range []string{"run_dir", "log_file"} {
		v, _ := c.Get(k)
		if len(v) > 2*maxExpandWork || !strings.HasPrefix(v, "x") && k == "run_dir" {
			t.Fatalf("%s expanded to %d bytes (%.40q...)", k, len(v), v)
		}
	}
}
