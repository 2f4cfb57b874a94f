package mon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParseDescriptions(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "descriptions.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b[:4096])
	f.Add([]byte(`{"cmd000": {"sig": ["osd", "dump", {"name": "epoch", "type": "CephInt", "range": "0", "req": "false"}], "help": "h", "flags": 0}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := ParseDescriptions(data)
		if err != nil {
			if !errors.Is(err, ErrDescriptions) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for i := range ds.Commands {
			_ = ds.Commands[i].Usage()
		}
		_, _, _ = ds.ParseCommand([]string{"osd", "dump", "1"}, "")
	})
}

func FuzzParseCommand(f *testing.F) {
	ds := loadDescriptions(f)
	for _, c := range loadCaptured(f) {
		f.Add(strings.Join(c.Args, "\x00"))
	}
	f.Fuzz(func(t *testing.T, s string) {
		words := strings.Split(s, "\x00")
		if len(words) > 64 {
			return
		}
		args, cmd, err := ds.ParseCommand(words, "")
		if err != nil {
			if !errors.Is(err, ErrInvalidCommand) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		js := args.JSON()
		if _, err := ParseJSONCommand(js); err != nil {
			t.Fatalf("%q gave %s: %v", words, js, err)
		}
		if cmd == nil {
			t.Fatal("no command")
		}
	})
}
