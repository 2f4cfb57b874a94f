// Package wire is msgr2's codec: the banner, frames (preamble, segments,
// epilogue) in the v2.0 and v2.1 layouts, crc and secure (AES-128-GCM)
// on-wire modes, and the payload of every control frame. It does no I/O:
// bytes in, values out, and values in, bytes out.
//
// Control frame payloads are Append-style: AppendPayload appends to a
// caller's slice; DecodePayload reads one segment. Byte slices a decoded
// frame holds (auth payloads) alias the segment they were decoded from.
//
// Ceph references: doc/dev/msgr2.rst, src/msg/async/frames_v2.{h,cc},
// src/msg/async/crypto_onwire.cc.
package wire
