package cephx

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
)

// ErrNoTicket reports that the session holds no valid ticket for a service
// (the mon exchange has not finished, or the ticket expired unrenewed).
var ErrNoTicket = errors.New("cephx: no valid ticket for service")

// Ticket is what the client holds for one service: the session key shared
// with that service, the ticket blob to present to it, and when it expires.
type Ticket struct {
	Service    uint32
	SessionKey auth.CryptoKey
	Blob       TicketBlob
	Expires    time.Time // zero: no expiry
	RenewAfter time.Time // three quarters of the way to Expires, as Ceph renews
}

// Config configures a client Session.
type Config struct {
	Name auth.EntityName
	Key  auth.CryptoKey
	// Want is the mask of services to hold tickets for; the auth ticket is
	// always added. Zero means mon|osd|mgr, what Ceph's clients ask for.
	Want uint32
	// MonModes and Modes are the connection modes ClientHandler offers to
	// mons and to other services, in preference order (ms_mon_client_mode
	// and ms_client_mode); nil means crc.
	MonModes []uint32
	Modes    []uint32
	Rand     io.Reader        // nil: crypto/rand
	Now      func() time.Time // nil: time.Now
}

// Session is a cephx principal's state shared by a MonClient across its
// connections: the global id, the tickets per service, and what renewal
// needs. It is safe for concurrent use.
type Session struct {
	name     auth.EntityName
	key      auth.CryptoKey
	want     uint32
	monModes []uint32
	modes    []uint32
	rand     io.Reader
	now      func() time.Time

	mu       sync.Mutex
	globalID uint64
	tickets  map[uint32]Ticket
	// serverChallenge is the challenge of the mon connection whose tickets
	// the session holds: renewing the auth ticket over MAuth reuses it,
	// because the mon keeps the connection's cephx handler.
	serverChallenge uint64
}

// NewSession returns a session for cfg's principal.
func NewSession(cfg Config) (*Session, error) {
	if err := cfg.Key.Validate(); err != nil {
		return nil, err
	}
	if cfg.Key.IsZero() {
		return nil, fmt.Errorf("%w: empty secret", auth.ErrBadKey)
	}
	s := &Session{name: cfg.Name, key: cfg.Key, want: cfg.Want, monModes: cfg.MonModes, modes: cfg.Modes,
		rand: cfg.Rand, now: cfg.Now, tickets: map[uint32]Ticket{}}
	if s.want == 0 {
		s.want = ServiceMon | ServiceOSD | ServiceMgr
	}
	s.want |= ServiceAuth
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// ClientHandler implements auth.Credentials: a MonHandler for a mon, an
// AuthorizerHandler for any other service.
func (s *Session) ClientHandler(peerType uint32) (auth.ClientHandler, error) {
	if peerType == ServiceMon {
		return s.MonHandler(s.monModes), nil
	}
	switch peerType {
	case ServiceOSD, ServiceMgr, ServiceMDS:
		return s.ServiceHandler(peerType, s.modes), nil
	}
	return nil, fmt.Errorf("%w: no cephx service of type %d", ErrNoTicket, peerType)
}

// Name returns the session's principal.
func (s *Session) Name() auth.EntityName { return s.name }

// GlobalID returns the global id the mon assigned, or 0.
func (s *Session) GlobalID() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.globalID
}

// Ticket returns the ticket for service if it has not expired.
func (s *Session) Ticket(service uint32) (Ticket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[service]
	if !ok || (!t.Expires.IsZero() && !s.now().Before(t.Expires)) {
		return Ticket{}, fmt.Errorf("%w %s", ErrNoTicket, encoding.EntityTypeName(uint8(service)))
	}
	return t, nil
}

// Need returns the mask of wanted services whose ticket is missing or due
// for renewal.
func (s *Session) Need() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.needLocked()
}

func (s *Session) needLocked() uint32 {
	now := s.now()
	var need uint32
	for svc := uint32(1); svc != 0 && svc <= s.want; svc <<= 1 {
		if s.want&svc == 0 {
			continue
		}
		t, ok := s.tickets[svc]
		if !ok || (!t.RenewAfter.IsZero() && !now.Before(t.RenewAfter)) {
			need |= svc
		}
	}
	return need
}

// NextRenewal returns when the earliest wanted ticket is due for renewal
// (zero if none will be), so a MonClient can schedule its check.
func (s *Session) NextRenewal() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	for svc, t := range s.tickets {
		if s.want&svc == 0 || t.RenewAfter.IsZero() {
			continue
		}
		if next.IsZero() || t.RenewAfter.Before(next) {
			next = t.RenewAfter
		}
	}
	return next
}

func (s *Session) randU64() (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return 0, fmt.Errorf("cephx: random: %w", err)
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// parseTicketReply reads a service ticket reply: per ticket, the session
// key sealed with principal, and the blob (sealed with the current session
// key of that service when ticket_enc is set, as on a reclaim).
func parseTicketReply(d *encoding.Decoder, principal auth.CryptoKey, now time.Time, current func(uint32) auth.CryptoKey) []Ticket {
	d.U8()
	n := d.Len(4 + 1 + 4 + 1 + 4)
	var ts []Ticket
	for i := 0; i < n && d.Err() == nil; i++ {
		svc := d.U32()
		d.U8()
		st := serviceTicket{}
		if body := openSealed(d, principal); d.Err() == nil {
			bd := encoding.NewDecoder(body)
			st = decodeServiceTicket(bd)
			if bd.Err() != nil {
				d.Fail(bd.Err())
			}
		}
		enc := d.Bool()
		var blobBytes []byte
		if enc {
			outer := openSealed(d, current(svc))
			if d.Err() == nil {
				od := encoding.NewDecoder(outer)
				blobBytes = od.Blob()
				if od.Err() != nil {
					d.Fail(od.Err())
				}
			}
		} else {
			blobBytes = d.Blob()
		}
		if d.Err() != nil {
			return nil
		}
		bd := encoding.NewDecoder(blobBytes)
		blob := decodeTicketBlob(bd)
		if bd.Err() != nil {
			d.Fail(bd.Err())
			return nil
		}
		t := Ticket{Service: svc, SessionKey: st.SessionKey, Blob: blob}
		if !st.Validity.IsZero() {
			v := time.Duration(st.Validity.Sec)*time.Second + time.Duration(st.Validity.Nsec)
			t.Expires = now.Add(v)
			t.RenewAfter = t.Expires.Add(-time.Duration(st.Validity.Sec) * time.Second / 4)
		}
		ts = append(ts, t)
	}
	return ts
}

// currentKeyLocked returns the session key the session holds for svc.
func (s *Session) currentKeyLocked(svc uint32) auth.CryptoKey {
	return s.tickets[svc].SessionKey
}

// buildAuthenticate builds a CEPHX_GET_AUTH_SESSION_KEY request.
func (s *Session) buildAuthenticate(serverChallenge uint64, old TicketBlob, need uint32) ([]byte, error) {
	cc, err := s.randU64()
	if err != nil {
		return nil, err
	}
	proof, err := keyProof(s.key, serverChallenge, cc)
	if err != nil {
		return nil, err
	}
	b := encoding.AppendU16(nil, ReqGetAuthSessionKey)
	return appendAuthenticate(b, authenticate{ClientChallenge: cc, Key: proof, OldTicket: old, OtherKeys: need}), nil
}

// authReplyResult is what a CEPHX_GET_AUTH_SESSION_KEY reply yields.
type authReplyResult struct {
	tickets    []Ticket // the auth ticket first, then any extra tickets
	sessionKey auth.CryptoKey
	connSecret []byte
}

// parseAuthReply parses the body of a CEPHX_GET_AUTH_SESSION_KEY reply
// after its header. oldAuth decrypts a ticket sealed for a reclaim.
func (s *Session) parseAuthReply(d *encoding.Decoder, oldAuth auth.CryptoKey) (authReplyResult, error) {
	now := s.now()
	var r authReplyResult
	r.tickets = parseTicketReply(d, s.key, now, func(uint32) auth.CryptoKey { return oldAuth })
	if err := d.Err(); err != nil {
		return r, wrapDecodeErr("auth ticket reply", err)
	}
	for _, t := range r.tickets {
		if t.Service == ServiceAuth {
			r.sessionKey = t.SessionKey
		}
	}
	if r.sessionKey.IsZero() {
		return r, fmt.Errorf("%w: reply holds no auth ticket", ErrProtocol)
	}
	if d.Remaining() == 0 {
		return r, nil // a pre-nautilus reply: no secret, no extra tickets
	}
	cbl := d.Sub()
	extra := d.Blob()
	if err := d.Err(); err != nil {
		return r, wrapDecodeErr("auth reply", err)
	}
	if cbl.Remaining() > 0 {
		body := openSealed(cbl, r.sessionKey)
		bd := encoding.NewDecoder(body)
		r.connSecret = append([]byte(nil), bd.Blob()...)
		if err := errors.Join(cbl.Err(), bd.Err()); err != nil {
			return r, wrapDecodeErr("connection secret", err)
		}
	}
	if len(extra) > 0 {
		ed := encoding.NewDecoder(extra)
		more := parseTicketReply(ed, r.sessionKey, now, func(uint32) auth.CryptoKey { return auth.CryptoKey{} })
		if err := ed.Err(); err != nil {
			return r, wrapDecodeErr("extra tickets", err)
		}
		r.tickets = append(r.tickets, more...)
	}
	return r, nil
}

// commitLocked stores tickets: later ones replace earlier ones, as Ceph's
// ticket manager does.
func (s *Session) commitLocked(ts []Ticket) {
	for _, t := range ts {
		s.tickets[t.Service] = t
	}
}
