package mon

import (
	"fmt"
	"strings"
)

// Formats the ceph CLI's -f accepts.
var Formats = []string{"json", "json-pretty", "xml", "xml-pretty", "plain", "yaml"}

// SplitFormat removes the ceph CLI's output format option ("-f json",
// "-fjson", "--format json", "--format=json", anywhere among the words,
// the last one winning, as argparse does) and returns it with the other
// words.
func SplitFormat(words []string) (format string, rest []string, err error) {
	for i := 0; i < len(words); i++ {
		w := words[i]
		var v string
		switch {
		case w == "-f" || w == "--format":
			if i+1 >= len(words) {
				return "", nil, fmt.Errorf("%w: %s needs an argument", ErrInvalidCommand, w)
			}
			i++
			v = words[i]
		case strings.HasPrefix(w, "--format="):
			v = strings.TrimPrefix(w, "--format=")
		case strings.HasPrefix(w, "-f") && !strings.HasPrefix(w, "--"):
			v = w[2:]
		default:
			rest = append(rest, w)
			continue
		}
		ok := false
		for _, f := range Formats {
			ok = ok || v == f
		}
		if !ok {
			return "", nil, fmt.Errorf("%w: invalid format %q (choose from %s)", ErrInvalidCommand, v, strings.Join(Formats, ", "))
		}
		format = v
	}
	return format, rest, nil
}
