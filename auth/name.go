package auth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gomsgr/msgr/encoding"
)

// ErrBadName reports an entity name that is not "type.id" with a known type.
var ErrBadName = errors.New("auth: bad entity name")

// EntityName is Ceph's EntityName (auth/Auth.h): who authenticates, as
// "client.admin" or "osd.0". On the wire it is a u32 entity type and a
// string id. It differs from encoding.EntityName (entity_name_t), whose
// second half is a number.
type EntityName struct {
	Type uint32 // an encoding.EntityType* value
	ID   string
}

// ParseEntityName parses "type.id" ("client.admin", "mon." for the mon
// key). The type must be one Ceph names: mon, mds, osd, client, mgr, auth.
func ParseEntityName(s string) (EntityName, error) {
	typ, id, ok := strings.Cut(s, ".")
	if !ok {
		return EntityName{}, fmt.Errorf("%w: %q has no '.'", ErrBadName, s)
	}
	t, ok := entityTypeByName(typ)
	if !ok {
		return EntityName{}, fmt.Errorf("%w: unknown type in %q", ErrBadName, s)
	}
	return EntityName{Type: t, ID: id}, nil
}

func entityTypeByName(s string) (uint32, bool) {
	for _, t := range []uint8{encoding.EntityTypeMon, encoding.EntityTypeMDS, encoding.EntityTypeOSD,
		encoding.EntityTypeClient, encoding.EntityTypeMgr, encoding.EntityTypeAuth} {
		if encoding.EntityTypeName(t) == s {
			return uint32(t), true
		}
	}
	return 0, false
}

// String returns "type.id".
func (n EntityName) String() string {
	return encoding.EntityTypeName(uint8(n.Type)) + "." + n.ID
}

// AppendEntityName appends n (u32 type, string id).
func AppendEntityName(b []byte, n EntityName) []byte {
	b = encoding.AppendU32(b, n.Type)
	return encoding.AppendString(b, n.ID)
}

// DecodeEntityName reads an EntityName from d.
func DecodeEntityName(d *encoding.Decoder) EntityName {
	t := d.U32()
	return EntityName{Type: t, ID: d.String()}
}
