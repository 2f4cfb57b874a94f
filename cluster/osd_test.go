package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdmap"
)

// TestMisdirectedOps: an op sent to an OSD that is not the PG's primary
// gets ENXIO when the client's map is current, and the OSD's newer map
// (the op dropped) when the client's map is older, as a real OSD does.
func TestMisdirectedOps(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Start(ctx, Config{Dir: t.TempDir(), Auth: "none", OSDs: 3, Pools: []string{"p"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	om := c.Mon.OSDMap()
	pool := om.PoolByName("p")
	// An object and an OSD that is not its primary.
	pl, err := om.MapObject("obj", osdmap.Locator{Pool: pool.ID})
	if err != nil {
		t.Fatal(err)
	}
	wrong := c.OSDs[(pl.ActingPrimary+1)%3]

	reg := message.NewRegistry()
	if err := messages.RegisterOSD(reg); err != nil {
		t.Fatal(err)
	}
	if err := messages.RegisterMon(reg); err != nil {
		t.Fatal(err)
	}
	got := make(chan message.Message, 4)
	cli, err := msgr.New(msgr.Config{Name: encoding.EntityName{Type: encoding.EntityTypeClient, Num: 9999}, Nonce: 77, Registry: reg,
		AuthClient: func(uint8) (auth.ClientHandler, error) {
			return &auth.NoneClient{Name: auth.EntityName{Type: uint32(encoding.EntityTypeClient), ID: "admin"}, GlobalID: 9999}, nil
		}}, msgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Shutdown(context.Background())
	cli.SetDefaultPolicy(msgr.LossyClient(0))
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	cli.AddDispatcherTail(msgr.DispatcherFunc(func(_ *msgr.Conn, m message.Message) bool { got <- m; return true }))
	conn, err := cli.GetConnection(wrong.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	op := func(epoch uint32) *messages.MOSDOp {
		return &messages.MOSDOp{Tid: uint64(epoch) + 1, PGID: messages.SPG{PG: messages.PG{Pool: uint64(pl.PG.Pool), Seed: pl.PG.Seed}, Shard: messages.ShardNone},
			Hash: pl.RawPG.Seed, Epoch: epoch, Flags: messages.FlagRead, Locator: messages.ObjectLocator{Pool: pool.ID, Hash: -1},
			Oid: "obj", Ops: []messages.OSDOp{messages.NewStatOp()}, Snap: messages.SnapHead, Features: encoding.FeaturesAll}
	}
	if err := conn.Send(op(om.Epoch)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		r, ok := m.(*messages.MOSDOpReply)
		if !ok || r.Result != -eNXIO {
			t.Fatalf("misdirected op with a current map: %v", m)
		}
	case <-ctx.Done():
		t.Fatal("no reply to a misdirected op")
	}
	if err := conn.Send(op(om.Epoch - 1)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if mm, ok := m.(*messages.MOSDMap); !ok || mm.Last() != om.Epoch {
			t.Fatalf("misdirected op with an old map: %v", m)
		}
	case <-ctx.Done():
		t.Fatal("no map shared for an op placed with an old map")
	}
}
