package osdmap

import (
	"strconv"
	"testing"
)

// BenchmarkMapObject1000 places objects (name -> PG -> CRUSH -> up ->
// acting) in a 1000-OSD map: 100 straw2 hosts of 10 OSDs.
func BenchmarkMapObject1000(b *testing.B) {
	m := buildMap(100, 10, 4096)
	names := make([]string, 1024)
	for i := range names {
		names[i] = "rbd_data.10ab2ae8944a." + strconv.Itoa(i)
	}
	for _, pool := range []int64{1, 2} {
		b.Run("pool"+strconv.FormatInt(pool, 10), func(b *testing.B) {
			var pl Placement
			loc := Locator{Pool: pool}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := m.MapObjectTo(&pl, names[i&1023], loc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("alloc-per-call", func(b *testing.B) {
		loc := Locator{Pool: 1}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := m.MapObject(names[i&1023], loc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecodeRealMap(b *testing.B) {
	raw := testMaps(b)["testdata/upmap-24.bin"]
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}
