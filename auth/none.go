package auth

import (
	"errors"
	"fmt"
	"sync"

	"github.com/gomsgr/msgr/encoding"
)

// NoneClient is the client side of auth method none. To a mon it sends
// {mode 10, name, global id}; to any other service the none "authorizer"
// {1, name, global id}. Either way the server answers with AUTH_DONE at once.
type NoneClient struct {
	Name     EntityName
	GlobalID uint64   // the id from the mon session; 0 to ask a mon for one
	Mon      bool     // true when the peer is a mon
	Modes    []uint32 // preferred connection modes; nil means crc only

	session *NoneSession // set by NoneSession.ClientHandler
}

// Start implements ClientHandler.
func (c *NoneClient) Start() (uint32, []uint32, []byte, error) {
	modes := c.Modes
	if len(modes) == 0 {
		modes = []uint32{ModeCRC}
	}
	var p []byte
	if c.Mon {
		p = AppendMonRequest(nil, MonRequest{Name: c.Name, GlobalID: c.GlobalID})
	} else {
		p = append(p, AuthModeAuthorizer)
		p = AppendEntityName(p, c.Name)
		p = encoding.AppendU64(p, c.GlobalID)
	}
	return MethodNone, modes, p, nil
}

// ErrUnexpected reports a frame the method does not expect at this point.
var ErrUnexpected = errors.New("auth: unexpected frame for this method")

// HandleReplyMore implements ClientHandler: method none has no second round.
func (c *NoneClient) HandleReplyMore([]byte) ([]byte, error) {
	return nil, fmt.Errorf("%w: AUTH_REPLY_MORE with method none", ErrUnexpected)
}

// HandleDone implements ClientHandler. The session key is empty, so the
// AUTH_SIGNATUREs are zeros, as Ceph sends them.
func (c *NoneClient) HandleDone(globalID uint64, conMode uint32, _ []byte) (Result, error) {
	if c.Mon {
		c.GlobalID = globalID
		if c.session != nil {
			c.session.setGlobalID(globalID)
		}
	}
	return Result{GlobalID: globalID, ConMode: conMode}, nil
}

// NoneSession is method none's client state shared across connections:
// the name, and the global id the mon assigned, which the "authorizer" for
// other services carries. It implements Credentials.
type NoneSession struct {
	Name     EntityName
	MonModes []uint32 // modes offered to mons; nil means crc
	Modes    []uint32 // modes offered to other services; nil means crc

	mu       sync.Mutex
	globalID uint64
}

// GlobalID returns the id the mon assigned, or 0.
func (s *NoneSession) GlobalID() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.globalID
}

func (s *NoneSession) setGlobalID(id uint64) {
	s.mu.Lock()
	s.globalID = id
	s.mu.Unlock()
}

// ClientHandler implements Credentials.
func (s *NoneSession) ClientHandler(peerType uint32) (ClientHandler, error) {
	mon := peerType == uint32(encoding.EntityTypeMon)
	modes := s.Modes
	if mon {
		modes = s.MonModes
	}
	return &NoneClient{Name: s.Name, GlobalID: s.GlobalID(), Mon: mon, Modes: modes, session: s}, nil
}

// HandleBadMethod implements ClientHandler: there is nothing else to try.
func (c *NoneClient) HandleBadMethod(method uint32, result int32, methods, modes []uint32) (uint32, []uint32, []byte, error) {
	return 0, nil, nil, &BadMethodError{Method: method, Result: result, AllowedMethods: methods, AllowedModes: modes}
}

// NoneServer is the server side of auth method none: it believes whoever
// the client says it is. As a mon (Mon true) it assigns a global id to a
// client that has none; as another service it takes the authorizer's.
type NoneServer struct {
	Mon          bool
	GlobalIDs    *GlobalIDs // required when Mon
	AllowedModes []uint32   // nil means crc only
}

func (s *NoneServer) modes() []uint32 {
	if len(s.AllowedModes) == 0 {
		return []uint32{ModeCRC}
	}
	return s.AllowedModes
}

// HandleRequest implements ServerHandler.
func (s *NoneServer) HandleRequest(method uint32, preferred []uint32, payload []byte) (ServerReply, error) {
	methods := []uint32{MethodNone}
	if method != MethodNone {
		return ServerReply{}, &BadMethodError{Method: method, Result: -EOPNOTSUPP, AllowedMethods: methods, AllowedModes: s.modes()}
	}
	mode := PickMode(preferred, s.modes())
	if mode == ModeUnknown {
		return ServerReply{}, &BadMethodError{Method: method, Result: -EOPNOTSUPP, AllowedMethods: methods, AllowedModes: s.modes()}
	}
	d := encoding.NewDecoder(payload)
	var name EntityName
	var gid uint64
	if s.Mon {
		r := DecodeMonRequest(d)
		name, gid = r.Name, r.GlobalID
		if d.Err() == nil && gid == 0 {
			if s.GlobalIDs == nil {
				return ServerReply{}, errors.New("auth: NoneServer as a mon needs GlobalIDs")
			}
			gid = s.GlobalIDs.Next()
		}
	} else {
		if v := d.U8(); d.Err() == nil && v != AuthModeAuthorizer {
			d.Failf("none authorizer version %d", v)
		}
		name = DecodeEntityName(d)
		gid = d.U64()
	}
	if err := d.Err(); err != nil {
		return ServerReply{}, badRequest(method, EPERM, methods, s.modes(), err)
	}
	return ServerReply{
		Done:     true,
		Result:   Result{GlobalID: gid, ConMode: mode},
		PeerType: name.Type,
		PeerName: name.String(),
	}, nil
}

// HandleRequestMore implements ServerHandler: method none has no second round.
func (s *NoneServer) HandleRequestMore([]byte) (ServerReply, error) {
	return ServerReply{}, fmt.Errorf("%w: AUTH_REQUEST_MORE with method none", ErrUnexpected)
}
