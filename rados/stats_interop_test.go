package rados_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/gomsgr/msgr/internal/cephtest"
	. "github.com/gomsgr/msgr/rados"
)

// mgrConf is the cluster MSGR_TEST_CEPH_MGR names: cephx, one OSD and a
// ceph-mgr (pool statistics come from it; mgr commands go to it).
func mgrConf(t *testing.T) string { return cephtest.ConfPath(t, cephtest.Mgr) }

type radosDF struct {
	Pools []struct {
		Name        string `json:"name"`
		SizeBytes   uint64 `json:"size_bytes"`
		SizeKB      uint64 `json:"size_kb"`
		NumObjects  uint64 `json:"num_objects"`
		NumClones   uint64 `json:"num_object_clones"`
		NumCopies   uint64 `json:"num_object_copies"`
		NumMissing  uint64 `json:"num_objects_missing_on_primary"`
		NumUnfound  uint64 `json:"num_objects_unfound"`
		NumDegraded uint64 `json:"num_objects_degraded"`
		ReadOps     uint64 `json:"read_ops"`
		ReadBytes   uint64 `json:"read_bytes"`
		WriteOps    uint64 `json:"write_ops"`
		WriteBytes  uint64 `json:"write_bytes"`
	} `json:"pools"`
	TotalObjects uint64 `json:"total_objects"`
	TotalUsed    uint64 `json:"total_used"`
	TotalAvail   uint64 `json:"total_avail"`
	TotalSpace   uint64 `json:"total_space"`
}

func realDF(t *testing.T, conf string) radosDF {
	out, e, code := realRados(t, conf, nil, "df", "--format", "json")
	var df radosDF
	if code != 0 || json.Unmarshal([]byte(out), &df) != nil {
		t.Fatalf("rados df: %d %q %s", code, out, e)
	}
	return df
}

// GetPoolStats and GetClusterStats agree with rados df: the figures are
// taken between two identical rados df answers, the mgr's reports being
// periodic.
func TestInteropStats(t *testing.T) {
	conf := mgrConf(t)
	c := connect(t, conf)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, io := testPoolIO(t, ctx, c, 1)
	for i := range 5 {
		if err := io.WriteFull(ctx, fmt.Sprintf("o%d", i), randomBytes(3000+i)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 10)
	io.Read(ctx, "o1", buf, 0)
	for {
		if ctx.Err() != nil {
			t.Fatal("rados df and msgr never agreed")
		}
		before := realDF(t, conf)
		ps, err := io.GetPoolStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := c.GetClusterStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		after := realDF(t, conf)
		if fmt.Sprint(before) != fmt.Sprint(after) {
			continue // a report came in between
		}
		var got bool
		for _, p := range after.Pools {
			if p.Name != pool {
				continue
			}
			got = true
			if p.NumObjects != 5 || p.WriteOps < 5 {
				break // the mgr has not reported the writes yet
			}
			want := PoolStat{
				Num_bytes: p.SizeBytes, Num_kb: p.SizeKB, Num_objects: p.NumObjects,
				Num_object_clones: p.NumClones, Num_object_copies: p.NumCopies,
				Num_objects_missing_on_primary: p.NumMissing, Num_objects_unfound: p.NumUnfound,
				Num_objects_degraded: p.NumDegraded, Num_rd: p.ReadOps, Num_rd_kb: p.ReadBytes / 1024,
				Num_wr: p.WriteOps, Num_wr_kb: p.WriteBytes / 1024,
			}
			if ps != want {
				t.Fatalf("GetPoolStats %+v\nrados df     %+v", ps, want)
			}
			wantC := ClusterStat{Kb: after.TotalSpace, Kb_used: after.TotalUsed, Kb_avail: after.TotalAvail, Num_objects: after.TotalObjects}
			if cs != wantC {
				t.Fatalf("GetClusterStats %+v, rados df %+v", cs, wantC)
			}
			t.Logf("pool %+v, cluster %+v", ps, cs)
			return
		}
		if !got {
			t.Logf("rados df does not list %s yet", pool)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
