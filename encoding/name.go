package encoding

import "strconv"

// Entity types (CEPH_ENTITY_TYPE_*). They are bits so that masks of them
// can be formed (for example a cephx service mask).
const (
	EntityTypeMon    uint8 = 0x01
	EntityTypeMDS    uint8 = 0x02
	EntityTypeOSD    uint8 = 0x04
	EntityTypeClient uint8 = 0x08
	EntityTypeMgr    uint8 = 0x10
	EntityTypeAuth   uint8 = 0x20
	EntityTypeAny    uint8 = 0xff
)

// EntityTypeName returns Ceph's name for an entity type ("osd", "client"),
// or "unknown".
func EntityTypeName(t uint8) string {
	switch t {
	case EntityTypeMon:
		return "mon"
	case EntityTypeMDS:
		return "mds"
	case EntityTypeOSD:
		return "osd"
	case EntityTypeClient:
		return "client"
	case EntityTypeMgr:
		return "mgr"
	case EntityTypeAuth:
		return "auth"
	case EntityTypeAny:
		return "any"
	}
	return "unknown"
}

// EntityName is Ceph's entity_name_t: an entity type and a number (an OSD
// id, a client's global id). A negative number means "not yet known".
type EntityName struct {
	Type uint8
	Num  int64
}

// EntityNameSize is the encoded size of an EntityName.
const EntityNameSize = 9

// String formats n as Ceph does: "osd.3", "client.4112", "mon.?".
func (n EntityName) String() string {
	if n.Num < 0 {
		return EntityTypeName(n.Type) + ".?"
	}
	return EntityTypeName(n.Type) + "." + strconv.FormatInt(n.Num, 10)
}

// AppendEntityName appends n (u8 type, i64 num).
func AppendEntityName(b []byte, n EntityName) []byte {
	b = append(b, n.Type)
	return AppendI64(b, n.Num)
}

// EntityName reads an entity_name_t.
func (d *Decoder) EntityName() EntityName {
	t := d.U8()
	return EntityName{Type: t, Num: d.I64()}
}
