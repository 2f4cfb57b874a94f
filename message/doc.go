// Package message defines what a Ceph message is to msgr, independent of
// sockets and of the messenger: the header that travels with it
// (ceph_msg_header2 on the msgr2 wire), its front, middle and data
// segments, the Message interface that Ceph's message types (MMonCommand,
// MOSDOp, ...) and users' own types implement alike, and a Registry from
// type number to constructor. Types nobody registered decode as *Raw.
package message
