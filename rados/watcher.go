package rados

import (
	"context"
	"sync"
	"time"

	"github.com/gomsgr/msgr/osdc"
)

// Watch/notify with go-ceph's types: a Watcher receives the notifies sent
// to an object on Events (and its failures on Errors) and acks them; a
// notifier waits for the acks. The watch survives OSD restarts, PG moves
// and connection resets (the Objecter re-registers it).

type (
	// WatcherID identifies a watch (its cookie).
	WatcherID uint64
	// NotifyID identifies one notify.
	NotifyID uint64
	// NotifierID is a client's global id (the N of client.N).
	NotifierID uint64
)

// NotifyEvent is a notify received by a Watcher; Ack answers it.
type NotifyEvent struct {
	ID         NotifyID
	WatcherID  WatcherID
	NotifierID NotifierID
	Data       []byte
	w          *Watcher
}

// NotifyAck is a watcher's answer to a notify.
type NotifyAck struct {
	WatcherID  WatcherID
	NotifierID NotifierID
	Response   []byte
}

// NotifyTimeout is a watcher that did not answer in time.
type NotifyTimeout struct {
	WatcherID  WatcherID
	NotifierID NotifierID
}

// Watcher is a watch on one object.
type Watcher struct {
	io     *IOContext
	oid    string
	w      *osdc.Watch
	events chan NotifyEvent
	errors chan error
	done   chan struct{} // closed by Delete: the handler stops handing out
	once   sync.Once
}

// Watch watches oid: notifies to it arrive on the Watcher's Events until
// Delete. Read Events (and Errors) promptly: a notifier waits for the ack.
func (io *IOContext) Watch(ctx context.Context, oid string) (*Watcher, error) {
	return io.WatchWithTimeout(ctx, oid, 0)
}

// WatchWithTimeout is Watch with the time the OSD keeps the watch while
// this client is unreachable (0: the OSD's osd_client_watch_timeout).
func (io *IOContext) WatchWithTimeout(ctx context.Context, oid string, timeout time.Duration) (*Watcher, error) {
	if oid == "" {
		return nil, ErrInvalidInput
	}
	w := &Watcher{io: io, oid: oid, events: make(chan NotifyEvent), errors: make(chan error), done: make(chan struct{})}
	ow, err := io.o.Watch(ctx, io.target(oid), timeout, w.handle)
	if err != nil {
		return nil, err
	}
	w.w = ow
	return w, nil
}

func (io *IOContext) target(oid string) osdc.Request {
	return osdc.Request{Pool: io.pool, Namespace: io.ns, Key: io.key, Oid: oid}
}

// handle runs on the watch's delivery goroutine, one event at a time.
func (w *Watcher) handle(ow *osdc.Watch, ev osdc.WatchEvent) {
	stop := ow.Done()
	if ev.Err != nil {
		select {
		case w.errors <- ev.Err:
		case <-w.done:
		case <-stop:
		}
		return
	}
	ne := NotifyEvent{ID: NotifyID(ev.NotifyID), WatcherID: WatcherID(ev.Cookie), NotifierID: NotifierID(ev.NotifierID), Data: nilIfEmpty(ev.Payload), w: w}
	select {
	case w.events <- ne:
	case <-w.done:
	case <-stop:
	}
}

// ID returns the watch's id.
func (w *Watcher) ID() WatcherID { return WatcherID(w.w.Cookie()) }

// Reconnects counts the watch's re-registrations so far (after
// connection resets, OSD restarts and PG moves).
func (w *Watcher) Reconnects() uint32 { return w.w.Reconnects() }

// Events delivers the notifies, in order.
func (w *Watcher) Events() <-chan NotifyEvent { return w.events }

// Errors delivers the watch's failure (ENOTCONN: the OSD dropped it; the
// caller may Delete and Watch again).
func (w *Watcher) Errors() <-chan error { return w.errors }

// Check returns how long ago the OSD last confirmed the watch, or the
// error that broke it.
func (w *Watcher) Check() (time.Duration, error) { return w.w.Check() }

// Delete removes the watch and closes Events and Errors, as go-ceph's.
func (w *Watcher) Delete(ctx context.Context) error {
	var err error
	w.once.Do(func() {
		close(w.done)
		err = w.w.Close(ctx) // returns once the handler can run no more
		close(w.events)
		close(w.errors)
	})
	return err
}

// Ack answers the notify with response (up to the notifier to read).
func (ne *NotifyEvent) Ack(ctx context.Context, response []byte) error {
	if ne.w == nil {
		return ErrInvalidInput
	}
	return ne.w.io.o.NotifyAck(ctx, ne.w.io.target(ne.w.oid), uint64(ne.ID), uint64(ne.WatcherID), response)
}

// Notify sends data to oid's watchers and waits for their acks (or the
// default 10 s timeout).
func (io *IOContext) Notify(ctx context.Context, oid string, data []byte) ([]NotifyAck, []NotifyTimeout, error) {
	return io.NotifyWithTimeout(ctx, oid, data, 0)
}

// NotifyWithTimeout is Notify waiting at most timeout for the acks (whole
// seconds). Watchers that did not answer are in the NotifyTimeouts, and
// the error then matches ETIMEDOUT.
func (io *IOContext) NotifyWithTimeout(ctx context.Context, oid string, data []byte, timeout time.Duration) ([]NotifyAck, []NotifyTimeout, error) {
	if oid == "" {
		return nil, nil, ErrInvalidInput
	}
	acks, missed, err := io.o.Notify(ctx, io.target(oid), data, timeout)
	out := make([]NotifyAck, len(acks))
	for i, a := range acks {
		out[i] = NotifyAck{WatcherID: WatcherID(a.Cookie), NotifierID: NotifierID(a.NotifierID), Response: nilIfEmpty(a.Response)}
	}
	var to []NotifyTimeout
	for _, m := range missed {
		to = append(to, NotifyTimeout{WatcherID: WatcherID(m.Cookie), NotifierID: NotifierID(m.NotifierID)})
	}
	return out, to, err
}

// nilIfEmpty: an empty payload reads as nil, as go-ceph gives it.
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
