package config

import (
	"errors"
	"testing"
)

func TestOptionParse(t *testing.T) {
	for _, tc := range []struct {
		opt, in, want string // want "" means ErrBadValue
	}{
		{"log_max_new", "77", "77"}, {"log_max_new", "2K", "2000"}, {"log_max_new", "0x10", ""}, {"log_max_new", "12abc", ""},
		{"osd_pool_default_size", "-1", ""}, {"osd_pool_default_size", "11", ""}, {"osd_pool_default_size", "4", "4"},
		{"rados_osd_op_timeout", "5m", "300"}, {"rados_osd_op_timeout", "1h 2s", "3602"}, {"rados_osd_op_timeout", "2.5", ""},
		{"objecter_inflight_op_bytes", "1K", "1024"}, {"objecter_inflight_op_bytes", "3MiB", "3145728"}, {"objecter_inflight_op_bytes", "x", ""},
		{"objecter_tick_interval", "0.5", "0.500000"}, {"objecter_tick_interval", "fast", ""},
		{"ms_crc_data", "1", "true"}, {"ms_crc_data", "FALSE", "false"}, {"ms_crc_data", "yes", ""},
		{"fsid", "nope", ""}, {"public_addr", "10.0.0.1", "v2:10.0.0.1:0/0"}, {"public_addr", "v1:10.0.0.1:6789/3", "10.0.0.1:6789/3"},
		{"public_addr", "bad", ""}, {"ms_type", "async+posix", "async+posix"},
	} {
		o, ok := LookupOption(tc.opt)
		if !ok {
			t.Fatalf("%s: not an option", tc.opt)
		}
		got, err := o.Parse(tc.in)
		if tc.want == "" {
			if !errors.Is(err, ErrBadValue) {
				t.Errorf("%s=%q: %q %v, want ErrBadValue", tc.opt, tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s=%q: %q %v, want %q", tc.opt, tc.in, got, err, tc.want)
		}
	}
	if _, ok := LookupOption("no such option"); ok {
		t.Fatal("an unknown option was found")
	}
}

func FuzzOptionParse(f *testing.F) {
	for _, s := range []string{"1", "2K", "5m 3s", "0.5", "v2:1.2.3.4:5/6", "[v2:1.2.3.4:5/6,v1:1.2.3.4:6/6]", "true"} {
		f.Add(s)
	}
	types := []string{"str", "int", "uint", "float", "bool", "addr", "addrvec", "uuid", "size", "secs", "millisecs"}
	f.Fuzz(func(t *testing.T, v string) {
		for _, typ := range types {
			Option{Type: typ, Min: "0", Max: "100"}.Parse(v)
		}
	})
}
