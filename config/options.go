package config

//go:generate sh -c "go run ../internal/optgen -c $MSGR_TEST_CEPH_CEPHX > options_gen.go"

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gomsgr/msgr/encoding"
)

// Option is one of Ceph's options (md_config_t's schema): its type
// ("str", "int", "uint", "float", "bool", "addr", "addrvec", "uuid",
// "size", "secs", "millisecs"), default and limits.
type Option struct {
	Type     string
	Default  string
	Min, Max string
	Enum     []string
}

// LookupOption returns the option named key ("log_max_new" or
// "log max new").
func LookupOption(key string) (Option, bool) {
	o, ok := Options[OptionKey(key)]
	return o, ok
}

// Parse checks v as Ceph's Option::parse_value and validate do, and
// returns it as Ceph prints it back (true for 1, 1024 for 1K): an
// ErrBadValue error if it does not parse or is out of range.
func (o Option) Parse(v string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w: %q for a %s option: %s", ErrBadValue, v, o.Type, why)
	}
	var num float64 // for the range check
	out := v
	switch o.Type {
	case "str":
		if len(o.Enum) > 0 && !slicesContains(o.Enum, v) {
			return bad("not one of " + strings.Join(o.Enum, ", "))
		}
		return v, nil
	case "int", "uint", "millisecs":
		n, err := siInt(v, o.Type == "int")
		if err != nil {
			return bad(err.Error())
		}
		num, out = float64(n), strconv.FormatInt(n, 10)
	case "size":
		n, err := iecSize(v)
		if err != nil {
			return bad(err.Error())
		}
		num, out = float64(n), strconv.FormatUint(n, 10)
	case "secs":
		n, err := timespan(v)
		if err != nil {
			return bad(err.Error())
		}
		num, out = float64(n), strconv.FormatInt(n, 10)
	case "float":
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) {
			return bad("not a number")
		}
		num, out = f, strconv.FormatFloat(f, 'f', 6, 64)
	case "bool":
		switch strings.ToLower(v) {
		case "true":
			return "true", nil
		case "false":
			return "false", nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return bad("not true, false or a number")
		}
		return strconv.FormatBool(n != 0), nil
	case "uuid":
		if _, err := encoding.ParseUUID(v); err != nil {
			return bad("not a uuid")
		}
		return v, nil
	case "addr":
		a, ok := formatAddr(v)
		if !ok {
			return bad("not an address")
		}
		return a, nil
	case "addrvec":
		if !plausibleAddrs(v) {
			return bad("not an address")
		}
		return v, nil
	default:
		return v, nil
	}
	if o.Min != "" {
		if m, err := strconv.ParseFloat(o.Min, 64); err == nil && num < m {
			return bad("below the minimum " + o.Min)
		}
	}
	if o.Max != "" {
		if m, err := strconv.ParseFloat(o.Max, 64); err == nil && num > m {
			return bad("above the maximum " + o.Max)
		}
	}
	return out, nil
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// siInt is strict_si_cast: an integer with an optional SI suffix (K, M,
// G, T, P, E: powers of 1000).
func siInt(v string, signed bool) (int64, error) {
	s := strings.TrimSpace(v)
	mult := int64(1)
	if n := len(s); n > 0 {
		if i := strings.IndexByte("KMGTPE", s[n-1]); i >= 0 {
			s = s[:n-1]
			for range i + 1 {
				mult *= 1000
			}
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not an integer")
	}
	if !signed && n < 0 {
		return 0, fmt.Errorf("negative")
	}
	if n > math.MaxInt64/mult || n < math.MinInt64/mult {
		return 0, fmt.Errorf("out of range")
	}
	return n * mult, nil
}

// iecSize is strict_iec_cast: a byte count with an optional K, M, G, T,
// P or E (powers of 1024), optionally followed by i and B.
func iecSize(v string) (uint64, error) {
	s := strings.TrimSuffix(strings.TrimSpace(v), "B")
	s = strings.TrimSuffix(s, "i")
	shift := 0
	if n := len(s); n > 0 {
		if i := strings.IndexByte("KMGTPE", s[n-1]); i >= 0 {
			s, shift = s[:n-1], 10*(i+1)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a size")
	}
	if shift > 0 && n > math.MaxUint64>>shift {
		return 0, fmt.Errorf("out of range")
	}
	return n << shift, nil
}

// timespan is parse_timespan: whole numbers each with an optional unit
// (s, m, h, d, w and their longer spellings), summed, in seconds.
func timespan(v string) (int64, error) {
	units := map[string]int64{
		"": 1, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
		"m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
		"h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
		"d": 86400, "day": 86400, "days": 86400,
		"w": 604800, "wk": 604800, "week": 604800, "weeks": 604800,
	}
	s := strings.TrimSpace(v)
	if s == "" {
		return 0, fmt.Errorf("empty")
	}
	var total int64
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("not a time span")
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("not a time span")
		}
		s = strings.TrimLeft(s[i:], " ")
		j := 0
		for j < len(s) && (s[j] < '0' || s[j] > '9') && s[j] != ' ' {
			j++
		}
		u, ok := units[s[:j]]
		if !ok {
			return 0, fmt.Errorf("unknown unit %q", s[:j])
		}
		total += n * u
		s = strings.TrimLeft(s[j:], " ")
	}
	return total, nil
}

// formatAddr parses an entity_addr_t (msgr2 unless its prefix says
// otherwise) and prints it as Ceph's operator<< does: "v2:10.0.0.1:0/0",
// no prefix for a legacy one.
func formatAddr(v string) (string, bool) {
	a, rest, ok := parseAddr(strings.TrimSpace(v), encoding.AddrTypeMsgr2)
	if !ok || rest != "" {
		return "", false
	}
	s := a.String()
	if a.Type == encoding.AddrTypeLegacy {
		s = strings.TrimPrefix(s, "v1:")
	}
	return s, true
}

// plausibleAddrs accepts what entity_addrvec_t parses: addresses, in
// brackets or not, comma-separated.
func plausibleAddrs(v string) bool {
	s := strings.Trim(strings.TrimSpace(v), "[]")
	for _, a := range strings.Split(s, ",") {
		if _, ok := formatAddr(a); !ok {
			return false
		}
	}
	return s != ""
}
