package asok

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"

	"github.com/gomsgr/msgr/perf"
)

// builtins are the commands every admin socket answers.
func (s *Server) builtins() []Command {
	return []Command{
		{Prefix: "get_command_descriptions", Help: "list available commands", Hook: s.descriptions},
		{Prefix: "help", Help: "list available commands", Hook: s.help},
		{Prefix: "version", Help: "get ceph version", Hook: s.version},
		{Prefix: "git_version", Help: "get git sha1", Hook: gitVersion},
		{Prefix: "perf dump", Help: "dump perfcounters value", Args: []Arg{
			{Name: "logger", Type: "CephString", Optional: true},
			{Name: "counter", Type: "CephString", Optional: true},
		}, Hook: s.perfDump},
		{Prefix: "perf schema", Help: "dump perfcounters schema", Hook: s.perfSchema},
	}
}

// descriptions answers get_command_descriptions: {"cmd000": {"sig":
// [words..., {name, type, req, n}...], "help": ...}, ...}, which the ceph
// CLI parses to validate what it sends.
func (s *Server) descriptions(context.Context, Request) ([]byte, error) {
	type desc struct {
		Sig  []any  `json:"sig"`
		Help string `json:"help"`
	}
	b := []byte{'{'}
	for i, c := range s.commands() {
		d := desc{Help: c.Help}
		for _, w := range splitWords(c.Prefix) {
			d.Sig = append(d.Sig, w)
		}
		for _, a := range c.Args {
			m := map[string]string{"name": a.Name, "type": a.Type}
			if a.Optional {
				m["req"] = "false"
			}
			if a.Repeat {
				m["n"] = "N"
			}
			d.Sig = append(d.Sig, m)
		}
		j, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `"cmd%03d":`, i)
		b = append(b, j...)
	}
	return append(b, '}'), nil
}

func splitWords(p string) []string {
	var ws []string
	start := -1
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == ' ' {
			if start >= 0 {
				ws = append(ws, p[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	return ws
}

func (s *Server) help(context.Context, Request) ([]byte, error) {
	m := map[string]string{}
	for _, c := range s.commands() {
		if c.Help != "" {
			m[c.Prefix] = c.Help
		}
	}
	return json.Marshal(m) // sorted keys, as Ceph's map
}

func (s *Server) version(context.Context, Request) ([]byte, error) {
	v := s.opts.Version
	if v == "" {
		v = moduleVersion()
	}
	return json.Marshal(struct {
		Version     string `json:"version"`
		Release     string `json:"release"`
		ReleaseType string `json:"release_type"`
	}{v, "msgr", "stable"})
}

func gitVersion(context.Context, Request) ([]byte, error) {
	rev := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, st := range bi.Settings {
			if st.Key == "vcs.revision" {
				rev = st.Value
			}
		}
	}
	return json.Marshal(map[string]string{"git_version": rev})
}

// moduleVersion is the msgr module's version from the build info.
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/gomsgr/msgr" {
			return d.Version
		}
	}
	return bi.Main.Version
}

func (s *Server) perfDump(_ context.Context, r Request) ([]byte, error) {
	logger, _ := r.String("logger")
	counter, _ := r.String("counter")
	return perf.AppendDump(nil, s.opts.Perf.Read(), logger, counter), nil
}

func (s *Server) perfSchema(context.Context, Request) ([]byte, error) {
	return perf.AppendSchema(nil, s.opts.Perf.Read()), nil
}
