package msgr

import (
	"context"

	"github.com/gomsgr/msgr/config"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
	"github.com/gomsgr/msgr/message"
)

// traceMsg logs one message at config.LevelTrace (debug_ms 20); the
// connection calls it only when c.trace, so that a quiet logger costs
// one branch per message.
func (c *Conn) traceMsg(dir string, h *message.Header, p *message.Payload) {
	c.log.Log(context.Background(), config.LevelTrace, dir, "type", h.Type, "seq", h.Seq, "tid", h.Tid, "front", len(p.Front), "middle", len(p.Middle), "data", len(p.Data))
}

func (c *Conn) traceIn(m *v2.InMessage)   { c.traceMsg("recv", &m.Header, &m.Payload) }
func (c *Conn) traceOut(m *v2.OutMessage) { c.traceMsg("send", &m.Header, &m.Payload) }
