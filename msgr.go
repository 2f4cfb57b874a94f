// Package msgr is a pure-Go implementation of Ceph's AsyncMessenger: a
// Messenger owns connections (Conn) to peers, each living on one worker of
// an event-loop pool shared by every messenger in the process, each
// driving one msgr2 protocol state machine (internal/protocol/v2) over one
// socket at a time.
//
// The pieces, with their Ceph names:
//
//	Messenger   AsyncMessenger: bind, start, policies, connection lookup
//	processor   Processor: the listening socket and accept on a worker
//	Conn        AsyncConnection (+ ProtocolV2 driving): one peer session
//	Dispatcher  Dispatcher: fast dispatch on the loop, queued dispatch off it
//	Policy      Messenger::Policy: lossy/lossless, server/client, throttles
//	Throttle    Throttle: byte and message budgets
//
// One message end to end: Conn.Send (any goroutine) queues the message and
// posts an event to the Conn's worker; the protocol machine assigns a
// sequence number and produces a MESSAGE frame; the Conn writes it with
// writev (data segments are not copied) and waits for a writable event on
// EAGAIN. On the peer, readable events feed the bytes to its machine,
// which yields the message; the Conn offers it to fast dispatchers on the
// loop, or queues it for the messenger's dispatch goroutine.
package msgr
