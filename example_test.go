package msgr_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// ping is a message type of the example's own.
type ping struct{ Text string }

const pingType = 0x7e10

func (*ping) Type() uint16              { return pingType }
func (*ping) Version() (uint16, uint16) { return 1, 1 }
func (p *ping) Encode(_ *message.Header, _ uint64, pl *message.Payload) error {
	pl.Front = encoding.AppendString(pl.Front, p.Text)
	return nil
}
func (p *ping) Decode(_ *message.Header, _ uint64, pl *message.Payload) error {
	d := encoding.NewDecoder(pl.Front)
	p.Text = d.String()
	return d.Err()
}

// A server that answers every ping on the connection it came from, and a
// client that sends one and waits for the answer.
func Example() {
	reg := message.NewRegistry()
	_ = reg.Register(pingType, func() message.Message { return &ping{} })
	ctx := context.Background()

	srv, _ := msgr.New(msgr.Config{Name: encoding.EntityName{Type: encoding.EntityTypeOSD, Num: 0}, Nonce: 1, Registry: reg}, msgr.Options{})
	srv.SetDefaultPolicy(msgr.StatelessServer(0))
	_ = srv.Bind(ctx, netip.MustParseAddrPort("127.0.0.1:0"))
	_ = srv.Start()
	srv.AddDispatcherHead(msgr.DispatcherFunc(func(c *msgr.Conn, m message.Message) bool {
		_ = c.Send(&ping{Text: "pong to " + m.(*ping).Text})
		return true
	}))
	defer srv.Shutdown(ctx)

	answers := make(chan string, 1)
	cli, _ := msgr.New(msgr.Config{Name: encoding.EntityName{Type: encoding.EntityTypeClient, Num: 4100}, Nonce: 2, Registry: reg}, msgr.Options{})
	cli.SetDefaultPolicy(msgr.LossyClient(0))
	_ = cli.Start()
	cli.AddDispatcherHead(msgr.DispatcherFunc(func(c *msgr.Conn, m message.Message) bool {
		answers <- fmt.Sprintf("%s from %v", m.(*ping).Text, c.PeerName())
		return true
	}))
	defer cli.Shutdown(ctx)

	conn, _ := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	_ = conn.Send(&ping{Text: "client.4100"})
	fmt.Println(<-answers)
	// Output: pong to client.4100 from osd.0
}
