package cephx

import (
	"fmt"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
)

// Ticket renewal over an open mon session, as Ceph's MonClient does it in
// _check_auth_tickets: the client sends MAuth (CEPH_MSG_AUTH, protocol 2)
// whose auth_payload is a cephx request, and the mon answers MAuthReply
// whose result_bl is the cephx reply. Which request depends on what is due:
// the auth ticket is renewed with CEPHX_GET_AUTH_SESSION_KEY (a new key
// proof against the connection's original server challenge, presenting the
// old auth ticket), service tickets with CEPHX_GET_PRINCIPAL_SESSION_KEY
// (an authorizer built on the auth ticket, then the mask of services).

// RenewalRequest implements auth.Renewer. It returns the MAuth auth_payload
// that renews the tickets due now, or ok false if none is due (Ceph does not
// renew for the mgr ticket alone).
func (s *Session) RenewalRequest() ([]byte, bool, error) {
	s.mu.Lock()
	need := s.needLocked()
	at, haveAuth := s.tickets[ServiceAuth]
	gid, challenge := s.globalID, s.serverChallenge
	s.mu.Unlock()
	if need == 0 || need == ServiceMgr {
		return nil, false, nil
	}
	if !haveAuth || gid == 0 {
		return nil, false, fmt.Errorf("%w auth: renewal before authentication", ErrNoTicket)
	}
	if need&ServiceAuth != 0 {
		p, err := s.buildAuthenticate(challenge, at.Blob, need)
		return p, err == nil, err
	}
	nonce, err := s.randU64()
	if err != nil {
		return nil, false, err
	}
	b := encoding.AppendU16(nil, ReqGetPrincipalSessionKey)
	b = appendAuthorizerBase(b, gid, ServiceAuth, at.Blob)
	if b, err = appendSealed(b, at.SessionKey, appendAuthorize(nil, authorize{Nonce: nonce})); err != nil {
		return nil, false, err
	}
	b = append(b, 1)
	return encoding.AppendU32(b, need), true, nil
}

// HandleRenewalReply implements auth.Renewer: it takes an MAuthReply's
// result and result_bl, stores the tickets, and returns the next MAuth
// auth_payload if more are due (nil when done).
func (s *Session) HandleRenewalReply(result int32, payload []byte) ([]byte, error) {
	if result < 0 {
		return nil, fmt.Errorf("%w: mon refused ticket renewal: %d", auth.ErrDenied, result)
	}
	d := encoding.NewDecoder(payload)
	typ := d.U16()
	status := d.I32()
	if err := d.Err(); err != nil {
		return nil, wrapDecodeErr("ticket renewal reply", err)
	}
	s.mu.Lock()
	oldAuth := s.currentKeyLocked(ServiceAuth)
	s.mu.Unlock()
	var tickets []Ticket
	switch typ {
	case ReqGetAuthSessionKey:
		if status < 0 {
			return nil, fmt.Errorf("%w: mon refused auth ticket renewal: %d", auth.ErrDenied, status)
		}
		r, err := s.parseAuthReply(d, oldAuth)
		if err != nil {
			return nil, err
		}
		tickets = r.tickets
	case ReqGetPrincipalSessionKey:
		tickets = parseTicketReply(d, oldAuth, s.now(), func(uint32) auth.CryptoKey { return auth.CryptoKey{} })
		if err := d.Err(); err != nil {
			return nil, wrapDecodeErr("service tickets", err)
		}
		if status < 0 && len(tickets) == 0 {
			return nil, fmt.Errorf("%w: mon issued no service tickets: %d", auth.ErrDenied, status)
		}
	default:
		return nil, fmt.Errorf("%w: renewal reply type %#x", ErrProtocol, typ)
	}
	s.mu.Lock()
	s.commitLocked(tickets)
	s.mu.Unlock()
	next, ok, err := s.RenewalRequest()
	if err != nil || !ok {
		return nil, err
	}
	return next, nil
}

// HandleTicketRequest answers a cephx request a client sent in an MAuth
// message after authenticating on this connection: it returns MAuthReply's
// result_bl and result. Only a handler whose exchange finished accepts it.
func (h *ServerHandler) HandleTicketRequest(payload []byte) ([]byte, int32) {
	if h.state != srvDone {
		return nil, -auth.EINVAL
	}
	d := encoding.NewDecoder(payload)
	typ := d.U16()
	if d.Err() != nil {
		return nil, -auth.EPERM
	}
	switch typ {
	case ReqGetAuthSessionKey:
		req := decodeAuthenticate(d)
		if d.Err() != nil {
			return nil, -auth.EPERM
		}
		// The session's global id is now known: renewing it needs the
		// auth ticket issued for it.
		h.newGlobalID = false
		reply, sk, errno, _ := h.authenticate(req)
		if errno != 0 {
			return nil, -errno
		}
		if req.OtherKeys != 0 {
			// No connection secret on this path: an empty bufferlist.
			reply = encoding.AppendU32(reply, 0)
			tickets, err := h.serviceTickets(req.OtherKeys)
			if err != nil {
				return nil, -auth.EIO
			}
			var extra []byte
			if len(tickets) > 0 {
				if extra, err = appendTicketReply(nil, sk, tickets, false, auth.CryptoKey{}); err != nil {
					return nil, -auth.EIO
				}
			}
			reply = encoding.AppendBytes(reply, extra)
		}
		h.authKey = sk
		return reply, 0
	case ReqGetPrincipalSessionKey:
		v := d.U8()
		gid := d.U64()
		svc := d.U32()
		tb := decodeTicketBlob(d)
		if d.Err() != nil || v != auth.AuthModeAuthorizer || svc != ServiceAuth {
			return nil, -auth.EPERM
		}
		info, ok := h.openTicket(ServiceAuth, tb)
		if !ok || info.Ticket.GlobalID != gid {
			return nil, -auth.EPERM
		}
		openSealed(d, info.SessionKey)
		d.U8()
		keys := d.U32()
		if d.Err() != nil {
			return nil, -auth.EPERM
		}
		tickets, err := h.serviceTickets(keys)
		if err != nil {
			return nil, -auth.EIO
		}
		b := encoding.AppendU16(nil, ReqGetPrincipalSessionKey)
		b = encoding.AppendI32(b, 0)
		if b, err = appendTicketReply(b, info.SessionKey, tickets, false, auth.CryptoKey{}); err != nil {
			return nil, -auth.EIO
		}
		return b, 0
	}
	return nil, -auth.EINVAL
}
