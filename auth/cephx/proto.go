package cephx

import (
	"encoding/binary"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
)

// Request types (CEPHX_GET_*): the u16 heading every cephx request and reply.
const (
	ReqGetAuthSessionKey      uint16 = 0x0100
	ReqGetPrincipalSessionKey uint16 = 0x0200
	ReqGetRotatingKey         uint16 = 0x0400
)

// Service ids are entity types; a service mask ORs them.
const (
	ServiceMon  = uint32(encoding.EntityTypeMon)
	ServiceMDS  = uint32(encoding.EntityTypeMDS)
	ServiceOSD  = uint32(encoding.EntityTypeOSD)
	ServiceMgr  = uint32(encoding.EntityTypeMgr)
	ServiceAuth = uint32(encoding.EntityTypeAuth)
)

// TicketBlob is CephXTicketBlob: a ticket opaque to its holder, encrypted
// with the service's rotating secret number SecretID.
type TicketBlob struct {
	SecretID uint64
	Blob     []byte
}

func appendTicketBlob(b []byte, t TicketBlob) []byte {
	b = append(b, 1)
	b = encoding.AppendU64(b, t.SecretID)
	return encoding.AppendBytes(b, t.Blob)
}

func decodeTicketBlob(d *encoding.Decoder) TicketBlob {
	d.U8()
	id := d.U64()
	return TicketBlob{SecretID: id, Blob: append([]byte(nil), d.Blob()...)}
}

// authenticate is CephXAuthenticate, the client's answer to the mon's
// challenge.
type authenticate struct {
	ClientChallenge uint64
	Key             uint64
	OldTicket       TicketBlob
	OtherKeys       uint32
	V               uint8 // struct_v found when decoding
}

func appendAuthenticate(b []byte, a authenticate) []byte {
	b = append(b, 3)
	b = encoding.AppendU64(b, a.ClientChallenge)
	b = encoding.AppendU64(b, a.Key)
	b = appendTicketBlob(b, a.OldTicket)
	return encoding.AppendU32(b, a.OtherKeys)
}

func decodeAuthenticate(d *encoding.Decoder) authenticate {
	var a authenticate
	a.V = d.U8()
	a.ClientChallenge = d.U64()
	a.Key = d.U64()
	a.OldTicket = decodeTicketBlob(d)
	if a.V >= 2 {
		a.OtherKeys = d.U32()
	}
	return a
}

// keyProof is cephx_calc_client_server_challenge: the client proves it
// holds its secret by encrypting both challenges. The proof XORs the
// little-endian u64 words of the length-prefixed ciphertext (Ceph runs over
// the encoded bufferlist, length included, ignoring the last partial word).
func keyProof(secret auth.CryptoKey, server, client uint64) (uint64, error) {
	body := encoding.AppendU64(nil, server)
	body = encoding.AppendU64(body, client)
	enc, err := appendSealed(nil, secret, body)
	if err != nil {
		return 0, err
	}
	var k uint64
	for p := 0; p+8 <= len(enc); p += 8 {
		k ^= binary.LittleEndian.Uint64(enc[p:])
	}
	return k, nil
}

// serviceTicket is CephXServiceTicket, the part of a ticket reply only the
// principal can read: the session key and how long it is valid.
type serviceTicket struct {
	SessionKey auth.CryptoKey
	Validity   encoding.UTime // a duration
}

func appendServiceTicket(b []byte, t serviceTicket) []byte {
	b = append(b, 1)
	b = auth.AppendCryptoKey(b, t.SessionKey)
	return encoding.AppendUTime(b, t.Validity)
}

func decodeServiceTicket(d *encoding.Decoder) serviceTicket {
	d.U8()
	k := auth.DecodeCryptoKey(d)
	return serviceTicket{SessionKey: k, Validity: d.UTime()}
}

// capsInfo is AuthCapsInfo: the caps a ticket grants, as the service sees
// them (Caps holds the encoded cap string).
type capsInfo struct {
	AllowAll bool
	Caps     []byte
}

// authTicket is AuthTicket, the inside of a ticket blob.
type authTicket struct {
	Name     auth.EntityName
	GlobalID uint64
	Created  encoding.UTime
	Expires  encoding.UTime
	Caps     capsInfo
	Flags    uint32
}

func appendAuthTicket(b []byte, t authTicket) []byte {
	b = append(b, 2)
	b = auth.AppendEntityName(b, t.Name)
	b = encoding.AppendU64(b, t.GlobalID)
	b = encoding.AppendU64(b, ^uint64(0)) // auid: CEPH_AUTH_UID_DEFAULT
	b = encoding.AppendUTime(b, t.Created)
	b = encoding.AppendUTime(b, t.Expires)
	b = append(b, 1)
	b = encoding.AppendBool(b, t.Caps.AllowAll)
	b = encoding.AppendBytes(b, t.Caps.Caps)
	return encoding.AppendU32(b, t.Flags)
}

func decodeAuthTicket(d *encoding.Decoder) authTicket {
	var t authTicket
	v := d.U8()
	t.Name = auth.DecodeEntityName(d)
	t.GlobalID = d.U64()
	if v >= 2 {
		d.U64()
	}
	t.Created = d.UTime()
	t.Expires = d.UTime()
	d.U8()
	t.Caps.AllowAll = d.Bool()
	t.Caps.Caps = append([]byte(nil), d.Blob()...)
	t.Flags = d.U32()
	return t
}

// ticketInfo is CephXServiceTicketInfo: what a service finds when it
// decrypts a ticket blob with its secret.
type ticketInfo struct {
	Ticket     authTicket
	SessionKey auth.CryptoKey
}

func appendTicketInfo(b []byte, t ticketInfo) []byte {
	b = append(b, 1)
	b = appendAuthTicket(b, t.Ticket)
	return auth.AppendCryptoKey(b, t.SessionKey)
}

func decodeTicketInfo(d *encoding.Decoder) ticketInfo {
	d.U8()
	t := decodeAuthTicket(d)
	return ticketInfo{Ticket: t, SessionKey: auth.DecodeCryptoKey(d)}
}

// authorize is CephXAuthorize, the encrypted half of an authorizer.
type authorize struct {
	Nonce                  uint64
	HaveChallenge          bool
	ServerChallengePlusOne uint64
}

func appendAuthorize(b []byte, a authorize) []byte {
	b = append(b, 2)
	b = encoding.AppendU64(b, a.Nonce)
	b = encoding.AppendBool(b, a.HaveChallenge)
	return encoding.AppendU64(b, a.ServerChallengePlusOne)
}

func decodeAuthorize(d *encoding.Decoder) authorize {
	var a authorize
	v := d.U8()
	a.Nonce = d.U64()
	if v >= 2 {
		a.HaveChallenge = d.Bool()
		a.ServerChallengePlusOne = d.U64()
	}
	return a
}

// authorizeReply is CephXAuthorizeReply, the service's proof that it could
// read the ticket, carrying the connection secret.
type authorizeReply struct {
	NoncePlusOne     uint64
	ConnectionSecret []byte
}

func appendAuthorizeReply(b []byte, r authorizeReply) []byte {
	if len(r.ConnectionSecret) == 0 {
		b = append(b, 1)
		return encoding.AppendU64(b, r.NoncePlusOne)
	}
	b = append(b, 2)
	b = encoding.AppendU64(b, r.NoncePlusOne)
	return encoding.AppendBytes(b, r.ConnectionSecret)
}

func decodeAuthorizeReply(d *encoding.Decoder) authorizeReply {
	var r authorizeReply
	v := d.U8()
	r.NoncePlusOne = d.U64()
	if v >= 2 {
		r.ConnectionSecret = append([]byte(nil), d.Blob()...)
	}
	return r
}
