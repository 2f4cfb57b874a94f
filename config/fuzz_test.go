package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, name := range []string{"vectors-cephx-secure.conf", "ceph-cluster-sh.conf"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	noDNS(f)
	f.Add([]byte("[a]\nx = \"q\\\"\" ; c\ny = a\\\nb\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		// Whatever parsed must be readable through a Config, expansion
		// included, without looping.
		c := New(file, DefaultName)
		for _, s := range file.Sections() {
			for _, k := range file.Keys(s) {
				if k == "" {
					t.Fatalf("empty key in [%s]", s)
				}
				c.Get(k)
			}
		}
		_, _ = c.Mons()
	})
}

func FuzzParseMonHost(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1", "127.0.0.1:6789", "[v2:127.0.0.1:3300,v1:127.0.0.1:6789]",
		"[::1]:3300", "::1", "v2:10.0.0.1:3300/3, 10.0.0.2;[v2:[::1]:3300,v1:[::1]:6789]",
	} {
		f.Add(s)
	}
	noDNS(f)
	f.Fuzz(func(t *testing.T, s string) {
		mons, err := ParseMonHost(s)
		if err != nil {
			return
		}
		for _, m := range mons {
			if len(m.Addrs) == 0 || m.Name == "" {
				t.Fatalf("%q: empty mon %+v", s, m)
			}
		}
	})
}

// noDNS keeps host names in fuzzed input off the network.
func noDNS(f *testing.F) {
	old := LookupHost
	LookupHost = func(string) ([]netip.Addr, error) { return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil }
	f.Cleanup(func() { LookupHost = old })
}
