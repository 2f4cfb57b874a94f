package mon

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
)

// NewMessenger makes a client messenger for cfg's entity with the mon
// message types registered, as Dial does.
func NewMessenger(cred auth.Credentials, reg *message.Registry, opts msgr.Options) (*msgr.Messenger, error) {
	if reg == nil {
		reg = message.NewRegistry()
		if err := messages.RegisterMon(reg); err != nil {
			return nil, err
		}
	}
	var nonce [4]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	m, err := msgr.New(msgr.Config{
		Name:       encoding.EntityName{Type: encoding.EntityTypeClient, Num: -1},
		Nonce:      binary.LittleEndian.Uint32(nonce[:]),
		Registry:   reg,
		AuthClient: func(peerType uint8) (auth.ClientHandler, error) { return cred.ClientHandler(uint32(peerType)) },
	}, opts)
	if err != nil {
		return nil, err
	}
	// Ceph's clients talk to mons over lossy connections.
	m.SetPolicy(encoding.EntityTypeMon, msgr.LossyClient(0))
	return m, nil
}

// Dial connects to the cluster cfg describes: it builds the credentials
// and a messenger, hunts for a monitor, authenticates, and returns once
// the session is open and the monmap has arrived, or when ctx ends.
func Dial(ctx context.Context, cfg *config.Config, opts Options) (*Client, error) {
	cred, err := Credentials(cfg)
	if err != nil {
		return nil, err
	}
	hook := &AuthHook{}
	mopts := opts.Messenger
	if mopts.Logger == nil {
		mopts.Logger = opts.Logger
	}
	if on, err := cfg.Bool("ms_bind_msgr2"); err == nil && !on {
		mopts.NoMsgr2 = true // speak msgr1 to every peer that offers it
	}
	m, err := NewMessenger(hook.Wrap(cred), opts.Registry, mopts)
	if err != nil {
		return nil, err
	}
	if err := m.Start(); err != nil {
		return nil, err
	}
	c, err := NewClient(m, cfg, cred, opts)
	if err != nil {
		m.Shutdown(context.Background())
		return nil, err
	}
	c.ownMsgr = true
	hook.Attach(c)
	m.AddDispatcherHead(c)
	if opts.Setup != nil {
		if err := opts.Setup(c); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := c.Start(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// NewClient makes a Client on a started messenger whose auth handlers
// come from cred. Call OnOSDMap / OnConfig, then Start.
func NewClient(m *msgr.Messenger, cfg *config.Config, cred auth.Credentials, opts Options) (*Client, error) {
	c, err := newClient(msgrMessenger{m}, cfg, cred, opts)
	if err != nil {
		return nil, err
	}
	c.msgr = m
	return c, nil
}

// newClient makes a Client on any Messenger (the tests' fakes).
func newClient(m Messenger, cfg *config.Config, cred auth.Credentials, opts Options) (*Client, error) {
	all, err := cfg.Mons()
	if err != nil {
		return nil, err
	}
	// Monitors with a v2 or a v1 address (the messenger picks which).
	var mons []config.Mon
	for _, m := range all {
		if m.Addrs.Msgr2().Addr.IsValid() || m.Addrs.Legacy().Addr.IsValid() {
			mons = append(mons, m)
		}
	}
	if len(mons) == 0 {
		return nil, fmt.Errorf("%w: no v2 or v1 address among %d configured monitors", config.ErrNoMonHost, len(all))
	}
	if opts.HuntInterval <= 0 {
		if d, err := cfg.Duration("mon_client_hunt_interval"); err == nil && d > 0 {
			opts.HuntInterval = d
		} else {
			opts.HuntInterval = 3 * time.Second
		}
	}
	if opts.HuntParallel <= 0 {
		opts.HuntParallel = 3
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = durationOr(cfg, "mon_client_ping_interval", 10*time.Second)
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = durationOr(cfg, "mon_client_ping_timeout", 30*time.Second)
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Client{
		m: m, cfg: cfg, cred: cred, opts: opts, log: opts.Logger,
		mons: mons, next: mrand.IntN(len(mons)), hunting: map[Conn]bool{}, backoff: 1,
		sessionCh: make(chan struct{}), mapCh: make(chan struct{}),
		subs: map[string]messages.SubscribeItem{messages.SubMonMap: {}},
		cmds: map[uint64]*pendingCmd{}, versions: map[uint64]*pendingVersion{},
		tickStop: make(chan struct{}), tickDone: make(chan struct{}),
	}
	id, ok, err := cfg.FSID()
	if err != nil {
		return nil, err
	}
	c.fsid, c.haveFSID = id, ok
	c.perf = c.newPerf()
	return c, nil
}

func durationOr(cfg *config.Config, key string, d time.Duration) time.Duration {
	if v, err := cfg.Duration(key); err == nil && v > 0 {
		return v
	}
	return d
}
