// Package encoding implements Ceph's "denc" wire encoding: little-endian
// integers, length-prefixed strings and blobs, containers, and versioned
// structs (ENCODE_START / DECODE_START).
//
// Encoders are Append-style: they append to a caller's slice and return it,
// so a caller that reuses its buffer encodes without allocating.
//
// Decoding goes through a Decoder with a sticky error: after the first
// failure every read returns a zero value and Err reports the cause. Every
// length read from the wire is checked against the bytes that remain before
// anything is allocated, so hostile input cannot make a decoder allocate
// more than the input it was given.
package encoding
