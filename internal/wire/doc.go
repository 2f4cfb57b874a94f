// Package wire is msgr2's codec: the banner, frames (preamble, segments,
// epilogue) in the v2.0 and v2.1 layouts, crc and secure (AES-128-GCM)
// on-wire modes, and the payload of every control frame. It does no I/O:
// bytes in, values out, and values in, bytes out.
//
// A connection uses one Decoder for what it reads and one Encoder for what
// it writes, each owned by the goroutine doing that side:
//
//	out = AppendBanner(out, Banner{Supported: SupportedFeatures})
//	dec.Feed(bytes) ... bn, raw, err := dec.Banner()   // raw: for the auth signature
//	neg, err := Negotiate(ours, bn)                    // *FeatureError if incompatible
//	dec.SetRev1(neg.Rev1); enc.SetRev1(neg.Rev1)
//	for { f, err := dec.Next(); if f == nil { read more }; ... }
//	cf, err := DecodeControlFrame(f.Tag, f.Payload())  // or a typed value's DecodePayload
//	out, err = enc.AppendControl(out, &Hello{...})
//	iov, err = enc.VecMessage(iov, &hdr, &payload)     // writev; enc.Reset() once written
//
// After AUTH_DONE with con_mode secure, NewSecure(connectionSecret, role,
// neg.Rev1) gives rx and tx ciphers for Decoder.SetSecure and
// Encoder.SetSecure; they apply from the next frame, exactly where Ceph
// switches (the receiver of AUTH_DONE switches both directions on
// receiving it; the server on sending it).
//
// Control frame payloads are Append-style: AppendPayload appends to a
// caller's slice; DecodePayload reads one segment. Byte slices a decoded
// frame holds (auth payloads) alias the segment they were decoded from.
//
// Errors are typed: ErrBadBanner/ErrMsgr1, ErrBadCRC, ErrAuthTag,
// ErrTooLarge, ErrUnknownTag, ErrMalformed (and *PayloadError,
// *FeatureError), all for errors.Is / errors.As.
//
// ReplayCapture decodes a captured stream, decrypting it given the
// connection secret, for tests of the layers above.
//
// Ceph references: doc/dev/msgr2.rst, src/msg/async/frames_v2.{h,cc},
// src/msg/async/crypto_onwire.cc.
package wire
