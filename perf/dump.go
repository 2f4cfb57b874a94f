package perf

import (
	"encoding/json"
	"strconv"
)

// AppendDump appends `perf dump` JSON (compact) for rs to b: sections
// as objects of counters, averages as {avgcount, sum[, avgtime]}, times
// in seconds. A non-empty logger keeps only that section, a non-empty
// counter only that counter (Ceph's optional arguments).
func AppendDump(b []byte, rs []Reading, logger, counter string) []byte {
	b = append(b, '{')
	first := true
	for _, r := range rs {
		if logger != "" && r.Name != logger {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, r.Name)
		b = append(b, ":{"...)
		firstC := true
		for i, d := range r.Descs {
			if counter != "" && d.Name != counter {
				continue
			}
			if !firstC {
				b = append(b, ',')
			}
			firstC = false
			b = appendString(b, d.Name)
			b = append(b, ':')
			b = appendValue(b, d.Kind, r.Values[i])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendValue(b []byte, k Kind, v Value) []byte {
	switch k {
	case Time:
		return AppendSeconds(b, v.Sum)
	case TimeAvg:
		b = append(b, `{"avgcount":`...)
		b = strconv.AppendUint(b, v.Count, 10)
		b = append(b, `,"sum":`...)
		b = AppendSeconds(b, v.Sum)
		b = append(b, `,"avgtime":`...)
		var avg uint64
		if v.Count > 0 {
			avg = v.Sum / v.Count
		}
		b = AppendSeconds(b, avg)
		return append(b, '}')
	case U64Avg:
		b = append(b, `{"avgcount":`...)
		b = strconv.AppendUint(b, v.Count, 10)
		b = append(b, `,"sum":`...)
		b = strconv.AppendUint(b, v.Sum, 10)
		return append(b, '}')
	default:
		return strconv.AppendUint(b, v.Sum, 10)
	}
}

// AppendSeconds appends ns nanoseconds as seconds the way Ceph prints
// a utime_t: "0.000931152", "2.5", "0.0".
func AppendSeconds(b []byte, ns uint64) []byte {
	b = strconv.AppendUint(b, ns/1e9, 10)
	frac := ns % 1e9
	b = append(b, '.')
	if frac == 0 {
		return append(b, '0')
	}
	var d [9]byte
	for i := 8; i >= 0; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 9
	for d[n-1] == '0' {
		n--
	}
	return append(b, d[:n]...)
}

// AppendSchema appends `perf schema` JSON (compact) for rs to b.
func AppendSchema(b []byte, rs []Reading) []byte {
	b = append(b, '{')
	for j, r := range rs {
		if j > 0 {
			b = append(b, ',')
		}
		b = appendString(b, r.Name)
		b = append(b, ":{"...)
		for i, d := range r.Descs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, d.Name)
			b = append(b, `:{"type":`...)
			b = strconv.AppendInt(b, int64(d.Kind.cephType()), 10)
			b = append(b, `,"metric_type":`...)
			b = appendString(b, d.Kind.metricType())
			b = append(b, `,"value_type":`...)
			b = appendString(b, d.Kind.valueType())
			b = append(b, `,"description":`...)
			b = appendString(b, d.Description)
			b = append(b, `,"nick":`...)
			b = appendString(b, d.Nick)
			b = append(b, `,"priority":`...)
			b = strconv.AppendInt(b, int64(d.Priority), 10)
			b = append(b, `,"units":`...)
			b = appendString(b, d.Unit.String())
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // strings always marshal
	return append(b, q...)
}
