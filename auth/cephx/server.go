package cephx

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
)

// Ceph's default ticket lifetimes (auth_mon_ticket_ttl,
// auth_service_ticket_ttl).
const (
	DefaultAuthTicketTTL    = 12 * time.Hour
	DefaultServiceTicketTTL = time.Hour
)

// secureSecretLen is the connection secret a mon or service generates for
// secure mode (AuthConnectionMeta::get_connection_secret_length).
const secureSecretLen = 64

// ServerConfig configures a Server: the authenticating side a mon runs.
type ServerConfig struct {
	// Keyring holds the principals' keys and caps. A principal needs mon
	// caps to be given a ticket, as with Ceph.
	Keyring *auth.Keyring
	// Secrets seal the tickets. Nil: fresh secrets for auth, mon, osd,
	// mgr and mds.
	Secrets *ServiceSecrets
	// GlobalIDs assigns ids to new sessions. Nil: ids from 4096 up.
	GlobalIDs *auth.GlobalIDs
	// Modes are the connection modes allowed. Nil: crc and secure.
	Modes []uint32
	// Ticket lifetimes; zero means Ceph's defaults.
	AuthTicketTTL    time.Duration
	ServiceTicketTTL time.Duration
	Rand             io.Reader        // nil: crypto/rand
	Now              func() time.Time // nil: time.Now
}

// Server authenticates cephx principals as a mon does. It is safe for
// concurrent use; each connection gets its own Handler.
type Server struct {
	cfg ServerConfig
}

// NewServer checks cfg and fills in its defaults.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Keyring == nil {
		return nil, errors.New("cephx: server needs a keyring")
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Secrets == nil {
		s, err := GenerateServiceSecrets(cfg.Rand, cfg.Now(), ServiceAuth, ServiceMon, ServiceOSD, ServiceMgr, ServiceMDS)
		if err != nil {
			return nil, err
		}
		cfg.Secrets = s
	}
	if cfg.GlobalIDs == nil {
		cfg.GlobalIDs = auth.NewGlobalIDs(4096)
	}
	if len(cfg.Modes) == 0 {
		cfg.Modes = []uint32{auth.ModeCRC, auth.ModeSecure}
	}
	if cfg.AuthTicketTTL <= 0 {
		cfg.AuthTicketTTL = DefaultAuthTicketTTL
	}
	if cfg.ServiceTicketTTL <= 0 {
		cfg.ServiceTicketTTL = DefaultServiceTicketTTL
	}
	return &Server{cfg: cfg}, nil
}

// Secrets returns the service secrets, for services that must verify the
// tickets this server issues.
func (s *Server) Secrets() *ServiceSecrets { return s.cfg.Secrets }

// Handler returns the server side of one connection.
func (s *Server) Handler() *ServerHandler { return &ServerHandler{srv: s} }

// ServerHandler runs cephx for one connection to the mon. It is an
// auth.ServerHandler; after the exchange it also answers the ticket
// requests a client sends in MAuth messages (HandleTicketRequest).
type ServerHandler struct {
	srv *Server

	state           int
	mode            uint32
	name            auth.EntityName
	globalID        uint64
	newGlobalID     bool
	serverChallenge uint64
	authKey         auth.CryptoKey // the session's auth ticket key, once done
}

const (
	srvStart = iota
	srvWaitAuthenticate
	srvDone
)

// refuse resets h, because after AUTH_BAD_METHOD the client may start
// over on the same connection (Ceph's server returns to AUTH_ACCEPTING),
// and returns the refusal.
func (h *ServerHandler) refuse(errno int32, why string) error {
	*h = ServerHandler{srv: h.srv}
	return fmt.Errorf("%w: cephx: %s", &auth.BadMethodError{
		Method: auth.MethodCephX, Result: -errno,
		AllowedMethods: []uint32{auth.MethodCephX}, AllowedModes: h.srv.cfg.Modes,
	}, why)
}

func (h *ServerHandler) randU64() (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(h.srv.cfg.Rand, b[:]); err != nil {
		return 0, fmt.Errorf("cephx: random: %w", err)
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// HandleRequest implements auth.ServerHandler: it picks the mode, assigns
// a global id to a new client, and sends the challenge.
func (h *ServerHandler) HandleRequest(method uint32, preferred []uint32, payload []byte) (auth.ServerReply, error) {
	if h.state != srvStart {
		return auth.ServerReply{}, fmt.Errorf("%w: second AUTH_REQUEST", auth.ErrUnexpected)
	}
	if method != auth.MethodCephX {
		return auth.ServerReply{}, h.refuse(auth.EOPNOTSUPP, "method not allowed")
	}
	h.mode = auth.PickMode(preferred, h.srv.cfg.Modes)
	if h.mode == auth.ModeUnknown {
		return auth.ServerReply{}, h.refuse(auth.EOPNOTSUPP, "no common connection mode")
	}
	d := encoding.NewDecoder(payload)
	req := auth.DecodeMonRequest(d)
	if err := d.Err(); err != nil {
		return auth.ServerReply{}, h.refuse(auth.EACCES, "bad request: "+err.Error())
	}
	h.name = req.Name
	if req.GlobalID == 0 {
		h.globalID, h.newGlobalID = h.srv.cfg.GlobalIDs.Next(), true
	} else {
		h.globalID = req.GlobalID
	}
	// Ceph's challenge is never zero: zero means "no challenge sent".
	for h.serverChallenge == 0 {
		c, err := h.randU64()
		if err != nil {
			return auth.ServerReply{}, err
		}
		h.serverChallenge = c
	}
	h.state = srvWaitAuthenticate
	p := append([]byte{1}, encoding.AppendU64(nil, h.serverChallenge)...)
	return auth.ServerReply{Payload: p, Result: auth.Result{GlobalID: h.globalID, ConMode: h.mode}}, nil
}

// HandleRequestMore implements auth.ServerHandler: it checks the key proof
// and issues the tickets. Refusals carry the errnos a Pacific mon sends:
// -EACCES for a wrong key, an unknown entity, missing mon caps or a bad
// reclaim ticket; -EPERM for an authenticate that does not decode; -EINVAL
// for another request type or a ticket presented with a new global id.
func (h *ServerHandler) HandleRequestMore(payload []byte) (auth.ServerReply, error) {
	if h.state != srvWaitAuthenticate {
		return auth.ServerReply{}, fmt.Errorf("%w: AUTH_REQUEST_MORE in cephx server state %d", auth.ErrUnexpected, h.state)
	}
	d := encoding.NewDecoder(payload)
	typ := d.U16()
	if d.Err() == nil && typ != ReqGetAuthSessionKey {
		return auth.ServerReply{}, h.refuse(auth.EINVAL, fmt.Sprintf("request type %#x during authentication", typ))
	}
	req := decodeAuthenticate(d)
	if err := d.Err(); err != nil {
		return auth.ServerReply{}, h.refuse(auth.EPERM, "bad authenticate: "+err.Error())
	}
	reply, sessionKey, errno, why := h.authenticate(req)
	if errno != 0 {
		return auth.ServerReply{}, h.refuse(errno, why)
	}
	secret := []byte(nil)
	if h.mode == auth.ModeSecure {
		secret = make([]byte, secureSecretLen)
		if _, err := io.ReadFull(h.srv.cfg.Rand, secret); err != nil {
			return auth.ServerReply{}, fmt.Errorf("cephx: random: %w", err)
		}
	}
	if req.OtherKeys != 0 {
		var err error
		if reply, err = h.appendNautilusTail(reply, sessionKey, secret, req.OtherKeys); err != nil {
			return auth.ServerReply{}, err
		}
	}
	h.state = srvDone
	h.authKey = sessionKey
	return auth.ServerReply{
		Done:     true,
		Payload:  reply,
		Result:   auth.Result{GlobalID: h.globalID, ConMode: h.mode, SessionKey: sessionKey.Secret, ConnectionSecret: secret},
		PeerType: h.name.Type,
		PeerName: h.name.String(),
	}, nil
}

// authenticate checks a CephXAuthenticate and returns the reply up to the
// auth ticket, the new session key, or an errno and why.
func (h *ServerHandler) authenticate(req authenticate) ([]byte, auth.CryptoKey, int32, string) {
	cfg := &h.srv.cfg
	// A real Pacific mon answers both with -EACCES (checked live; newer
	// Ceph sources say -EPERM).
	key, err := cfg.Keyring.Key(h.name)
	if err != nil {
		return nil, auth.CryptoKey{}, auth.EACCES, "unknown entity " + h.name.String()
	}
	want, err := keyProof(key, h.serverChallenge, req.ClientChallenge)
	if err != nil || want != req.Key {
		return nil, auth.CryptoKey{}, auth.EACCES, "bad key proof from " + h.name.String()
	}
	// The global id: a new one admits no old ticket; a reclaimed one
	// needs the auth ticket that was issued for it.
	var oldKey auth.CryptoKey
	encTicket := false
	if h.newGlobalID {
		if len(req.OldTicket.Blob) > 0 {
			return nil, auth.CryptoKey{}, auth.EINVAL, "superfluous ticket with a new global id"
		}
	} else {
		info, ok := h.openTicket(ServiceAuth, req.OldTicket)
		if !ok || info.Ticket.GlobalID != h.globalID {
			return nil, auth.CryptoKey{}, auth.EACCES, "global id reclaim without a valid ticket"
		}
		oldKey, encTicket = info.SessionKey, true
	}
	entry, _ := cfg.Keyring.Entry(h.name)
	if entry.Caps["mon"] == "" {
		return nil, auth.CryptoKey{}, auth.EACCES, "no mon caps for " + h.name.String()
	}
	now := cfg.Now()
	sk, err := auth.NewAESKey(cfg.Rand, encoding.UTimeOf(now))
	if err != nil {
		return nil, auth.CryptoKey{}, auth.EIO, err.Error()
	}
	at, err := h.issue(ServiceAuth, sk, cfg.AuthTicketTTL, now, "")
	if err != nil {
		return nil, auth.CryptoKey{}, auth.EIO, err.Error()
	}
	b := encoding.AppendU16(nil, ReqGetAuthSessionKey)
	b = encoding.AppendI32(b, 0)
	b, err = appendTicketReply(b, key, []issued{at}, encTicket, oldKey)
	if err != nil {
		return nil, auth.CryptoKey{}, auth.EIO, err.Error()
	}
	return b, sk, 0, ""
}

// appendNautilusTail appends what a nautilus+ client asked for with
// other_keys: the connection secret and the other tickets, both sealed
// with the new session key.
func (h *ServerHandler) appendNautilusTail(b []byte, sk auth.CryptoKey, secret []byte, keys uint32) ([]byte, error) {
	sealed, err := appendSealed(nil, sk, encoding.AppendBytes(nil, secret))
	if err != nil {
		return nil, err
	}
	b = encoding.AppendBytes(b, sealed)
	tickets, err := h.serviceTickets(keys)
	if err != nil {
		return nil, err
	}
	var extra []byte
	if len(tickets) > 0 {
		if extra, err = appendTicketReply(nil, sk, tickets, false, auth.CryptoKey{}); err != nil {
			return nil, err
		}
	}
	return encoding.AppendBytes(b, extra), nil
}

// serviceTickets issues a ticket for each service in the mask that the
// server holds a secret for (the bits from 1 up, as Ceph walks them).
func (h *ServerHandler) serviceTickets(keys uint32) ([]issued, error) {
	cfg := &h.srv.cfg
	now := cfg.Now()
	var out []issued
	for svc := uint32(1); svc != 0 && svc <= keys; svc <<= 1 {
		if keys&svc == 0 {
			continue
		}
		if _, _, ok := cfg.Secrets.Current(svc); !ok {
			continue // Ceph skips a service it has no rotating key for
		}
		sk, err := auth.NewAESKey(cfg.Rand, encoding.UTimeOf(now))
		if err != nil {
			return nil, err
		}
		entry, _ := cfg.Keyring.Entry(h.name)
		t, err := h.issue(svc, sk, cfg.ServiceTicketTTL, now, entry.Caps[encoding.EntityTypeName(uint8(svc))])
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// issued is one ticket ready to be put in a reply.
type issued struct {
	service  uint32
	key      auth.CryptoKey
	validity time.Duration
	blob     TicketBlob
}

// issue seals a ticket for service with the service's current secret.
func (h *ServerHandler) issue(svc uint32, sk auth.CryptoKey, ttl time.Duration, now time.Time, caps string) (issued, error) {
	id, secret, ok := h.srv.cfg.Secrets.Current(svc)
	if !ok {
		return issued{}, fmt.Errorf("cephx: no secret for service %s", encoding.EntityTypeName(uint8(svc)))
	}
	info := ticketInfo{
		Ticket: authTicket{
			Name:     h.name,
			GlobalID: h.globalID,
			Created:  encoding.UTimeOf(now),
			Expires:  encoding.UTimeOf(now.Add(ttl)),
		},
		SessionKey: sk,
	}
	if caps != "" {
		info.Ticket.Caps.Caps = encoding.AppendString(nil, caps)
	}
	blob, err := sealEnc(secret, appendTicketInfo(nil, info))
	if err != nil {
		return issued{}, err
	}
	return issued{service: svc, key: sk, validity: ttl, blob: TicketBlob{SecretID: id, Blob: blob}}, nil
}

// openTicket decrypts a ticket blob issued for svc.
func (h *ServerHandler) openTicket(svc uint32, tb TicketBlob) (ticketInfo, bool) {
	return openTicketWith(h.srv.cfg.Secrets, svc, tb)
}

func openTicketWith(secrets *ServiceSecrets, svc uint32, tb TicketBlob) (ticketInfo, bool) {
	if len(tb.Blob) == 0 {
		return ticketInfo{}, false
	}
	secret, ok := secrets.Get(svc, tb.SecretID)
	if !ok {
		return ticketInfo{}, false
	}
	body, err := openEnc(secret, tb.Blob)
	if err != nil {
		return ticketInfo{}, false
	}
	d := encoding.NewDecoder(body)
	info := decodeTicketInfo(d)
	return info, d.Err() == nil
}

// appendTicketReply appends a service ticket reply: each session key
// sealed with principal, each blob in the clear or, on a reclaim, sealed
// with the previous session key.
func appendTicketReply(b []byte, principal auth.CryptoKey, ts []issued, encTicket bool, ticketKey auth.CryptoKey) ([]byte, error) {
	b = append(b, 1)
	b = encoding.AppendU32(b, uint32(len(ts)))
	var err error
	for _, t := range ts {
		b = encoding.AppendU32(b, t.service)
		b = append(b, 1)
		v := encoding.UTime{Sec: uint32(t.validity / time.Second), Nsec: uint32(t.validity % time.Second)}
		if b, err = appendSealed(b, principal, appendServiceTicket(nil, serviceTicket{SessionKey: t.key, Validity: v})); err != nil {
			return nil, err
		}
		blob := encoding.AppendBytes(nil, appendTicketBlob(nil, t.blob))
		b = encoding.AppendBool(b, encTicket)
		if encTicket {
			if b, err = appendSealed(b, ticketKey, blob); err != nil {
				return nil, err
			}
		} else {
			b = append(b, blob...)
		}
	}
	return b, nil
}
