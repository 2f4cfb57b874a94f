package config

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
)

// LevelTrace is below slog.LevelDebug: per-message (wire-level) logs,
// what Ceph prints at debug_ms 20.
const LevelTrace = slog.LevelDebug - 4

// DebugLevel returns the log level of debug_<subsys> ("ms", "objecter",
// "monc"): N of Ceph's "N/M" (the gather level M is not kept), and
// whether the option is set.
func (c *Config) DebugLevel(subsys string) (int, bool) {
	v, ok := c.Raw("debug_" + subsys)
	if !ok {
		return 0, false
	}
	n, _, _ := strings.Cut(strings.TrimSpace(v), "/")
	l, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || l < 0 {
		return 0, false
	}
	return l, true
}

// SlogLevel maps a Ceph debug level to the lowest slog level logged:
// 0 errors and warnings only, 1-4 info, 5-19 debug (sessions, faults),
// 20 and up trace (every message).
func SlogLevel(n int) slog.Level {
	switch {
	case n <= 0:
		return slog.LevelWarn
	case n < 5:
		return slog.LevelInfo
	case n < 20:
		return slog.LevelDebug
	}
	return LevelTrace
}

// SubsysLogger returns base logging at debug_<subsys>'s level, its
// records tagged subsys=<subsys>; base itself when the option is not
// set.
func (c *Config) SubsysLogger(base *slog.Logger, subsys string) *slog.Logger {
	n, ok := c.DebugLevel(subsys)
	if !ok {
		return base
	}
	return slog.New(&levelHandler{h: base.Handler(), min: SlogLevel(n)}).With("subsys", subsys)
}

// levelHandler decides by its own minimum level, below or above the
// wrapped handler's, which then writes what it is given.
type levelHandler struct {
	h   slog.Handler
	min slog.Level
}

func (l *levelHandler) Enabled(_ context.Context, lv slog.Level) bool { return lv >= l.min }

func (l *levelHandler) Handle(ctx context.Context, r slog.Record) error { return l.h.Handle(ctx, r) }

func (l *levelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &levelHandler{h: l.h.WithAttrs(as), min: l.min}
}

func (l *levelHandler) WithGroup(name string) slog.Handler {
	return &levelHandler{h: l.h.WithGroup(name), min: l.min}
}
