package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// BannerPrefix opens every msgr2 connection, in both directions.
const BannerPrefix = "ceph v2\n"

// msgr1Prefix is how a msgr1 peer's banner ("ceph v027") starts.
const msgr1Prefix = "ceph v0"

// msgr2 feature bits, exchanged in the banner (CEPH_MSGR2_FEATURE_*).
const (
	FeatureRevision1   uint64 = 1 << 0 // msgr2.1 framing and nonces
	FeatureCompression uint64 = 1 << 1 // on-wire compression (Quincy)
)

// SupportedFeatures is what this codec implements: revision 1. It does not
// implement on-wire compression (Pacific has none either).
const SupportedFeatures = FeatureRevision1

// BannerSize is the size of the banner this side sends: the prefix, a u16
// payload length, and the two u64 feature masks.
const BannerSize = len(BannerPrefix) + 2 + 16

// maxBannerPayload bounds the payload length a peer may announce; Ceph
// sends 16, and anything this large is not a banner.
const maxBannerPayload = 4096

// Banner is the feature part of a banner.
type Banner struct {
	Supported uint64
	Required  uint64
}

// AppendBanner appends the banner for bn.
func AppendBanner(b []byte, bn Banner) []byte {
	b = append(b, BannerPrefix...)
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = binary.LittleEndian.AppendUint64(b, bn.Supported)
	return binary.LittleEndian.AppendUint64(b, bn.Required)
}

// ParseBanner reads a banner from the start of p. It returns the number of
// bytes the banner took, or 0 and a nil error if p does not hold all of it
// yet. A msgr1 peer gives an error matching ErrMsgr1 (and ErrBadBanner); any
// other wrong prefix ErrBadBanner. Extra payload bytes (a newer peer's) are
// skipped, as Ceph skips them.
func ParseBanner(p []byte) (Banner, int, error) {
	n := min(len(p), len(BannerPrefix))
	if !bytes.Equal(p[:n], []byte(BannerPrefix[:n])) {
		if m := min(len(p), len(msgr1Prefix)); bytes.Equal(p[:m], []byte(msgr1Prefix[:m])) {
			if m == len(msgr1Prefix) {
				return Banner{}, 0, ErrMsgr1
			}
			return Banner{}, 0, nil // could still be either
		}
		return Banner{}, 0, fmt.Errorf("%w: got %q", ErrBadBanner, p[:n])
	}
	hdr := len(BannerPrefix) + 2
	if len(p) < hdr {
		return Banner{}, 0, nil
	}
	plen := int(binary.LittleEndian.Uint16(p[len(BannerPrefix):]))
	if plen < 16 || plen > maxBannerPayload {
		return Banner{}, 0, fmt.Errorf("%w: payload length %d", ErrBadBanner, plen)
	}
	if len(p) < hdr+plen {
		return Banner{}, 0, nil
	}
	bn := Banner{
		Supported: binary.LittleEndian.Uint64(p[hdr:]),
		Required:  binary.LittleEndian.Uint64(p[hdr+8:]),
	}
	return bn, hdr + plen, nil
}

// Negotiated is what two banners agree on.
type Negotiated struct {
	Rev1        bool // both support revision 1: v2.1 framing
	Compression bool // both support on-wire compression
	Features    uint64
}

// Negotiate checks the peer's banner against ours, as ProtocolV2 does: a
// peer requiring what we do not support, or lacking what we require, is a
// *FeatureError. Otherwise the common features decide the framing.
func Negotiate(ours, peer Banner) (Negotiated, error) {
	if missing := peer.Required &^ ours.Supported; missing != 0 {
		return Negotiated{}, &FeatureError{Missing: missing}
	}
	if missing := ours.Required &^ peer.Supported; missing != 0 {
		return Negotiated{}, &FeatureError{Missing: missing, PeerLacks: true}
	}
	common := ours.Supported & peer.Supported
	return Negotiated{
		Rev1:        common&FeatureRevision1 != 0,
		Compression: common&FeatureCompression != 0,
		Features:    common,
	}, nil
}
