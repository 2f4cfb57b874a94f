package config

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestDebugLevel(t *testing.T) {
	for _, tc := range []struct {
		val  string
		set  bool
		want int
		ok   bool
	}{
		{"", false, 0, false},
		{"1/5", true, 1, true},
		{" 20 ", true, 20, true},
		{"0/0", true, 0, true},
		{"x", true, 0, false},
		{"-1", true, 0, false},
	} {
		c := New(nil, "client.admin")
		if tc.set {
			c.Set("debug ms", tc.val)
		}
		if n, ok := c.DebugLevel("ms"); n != tc.want || ok != tc.ok {
			t.Errorf("debug_ms %q: %d %v, want %d %v", tc.val, n, ok, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		n    int
		want slog.Level
	}{{0, slog.LevelWarn}, {1, slog.LevelInfo}, {5, slog.LevelDebug}, {19, slog.LevelDebug}, {20, LevelTrace}, {30, LevelTrace}} {
		if got := SlogLevel(tc.n); got != tc.want {
			t.Errorf("SlogLevel(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

// debug_objecter = 20 opens trace lines for that subsystem only, even
// below the base handler's own level; an unset one leaves the base.
func TestSubsysLogger(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c := New(nil, "client.admin")
	c.Set("debug_objecter", "20/20")
	c.Set("debug_ms", "0")
	if c.SubsysLogger(base, "monc") != base {
		t.Error("unset debug_monc changed the logger")
	}
	c.SubsysLogger(base, "objecter").Log(t.Context(), LevelTrace, "op sent")
	ms := c.SubsysLogger(base, "ms")
	ms.Info("not shown")
	ms.Warn("shown")
	out := buf.String()
	if !strings.Contains(out, "op sent") || !strings.Contains(out, "subsys=objecter") || strings.Contains(out, "not shown") || !strings.Contains(out, "subsys=ms") {
		t.Errorf("log:\n%s", out)
	}
}
