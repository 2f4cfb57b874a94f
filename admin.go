package msgr

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gomsgr/msgr/asok"
)

// dumpTimeout bounds a dump_connections that waits on busy workers.
const dumpTimeout = 5 * time.Second

// AdminCommands are the messenger's admin socket commands:
// dump_connections (DumpConnections as JSON).
func (m *Messenger) AdminCommands() []asok.Command {
	return []asok.Command{{
		Prefix: "dump_connections", Help: "show the messenger's connections",
		Hook: func(ctx context.Context, _ asok.Request) ([]byte, error) {
			ctx, cancel := context.WithTimeout(ctx, dumpTimeout)
			defer cancel()
			return json.Marshal(m.DumpConnections(ctx))
		},
	}}
}
