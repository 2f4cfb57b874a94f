package mon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/messages"
)

// Start hunts for a monitor and waits until a session is open and the
// first monmap has arrived, or ctx ends.
func (c *Client) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if !c.started {
		c.started = true
		go c.ticker()
	}
	c.reopenLocked()
	c.mu.Unlock()
	return c.waitMap(ctx)
}

func (c *Client) waitMap(ctx context.Context) error {
	c.mu.Lock()
	ch := c.mapCh
	c.mu.Unlock()
	return c.waitFor(ctx, ch)
}

// waitFor waits until ch (mapCh or sessionCh) closes: the wait is over, or
// the Client failed or closed; or until ctx ends.
func (c *Client) waitFor(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.fatal
	case <-ctx.Done():
		return c.failure(ctx)
	}
}

// failure explains why ctx ended before a session: the definitive error
// if any, else ErrNoMonitor with the last connection error.
func (c *Client) failure(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fatal != nil {
		return c.fatal
	}
	if c.closed {
		return ErrClosed
	}
	if c.lastErr != nil {
		return fmt.Errorf("%w: %w (last error: %w)", ErrNoMonitor, context.Cause(ctx), c.lastErr)
	}
	return fmt.Errorf("%w: %w", ErrNoMonitor, context.Cause(ctx))
}

// failLocked records a definitive failure and wakes every waiter.
func (c *Client) failLocked(err error) {
	if c.fatal != nil {
		return
	}
	c.fatal = err
	c.log.Warn("mon: giving up", "err", err)
	c.stopHuntingLocked()
	closeOnce(c.mapCh)
	closeOnce(c.sessionCh)
	for tid, p := range c.cmds {
		delete(c.cmds, tid)
		close(p.done)
	}
	for h, p := range c.versions {
		delete(c.versions, h)
		close(p.done)
	}
}

func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// reopenLocked drops the current session and hunts: it connects to up
// to HuntParallel monitors at once; the first to open a session wins
// (MonClient::_reopen_session).
func (c *Client) reopenLocked() {
	if c.closed || c.fatal != nil {
		return
	}
	if c.active != nil {
		c.active.MarkDown()
		c.active = nil
		c.sessionCh = make(chan struct{})
	}
	c.stopHuntingLocked()
	n := min(c.opts.HuntParallel, len(c.mons))
	for i := 0; i < n; i++ {
		mon := c.mons[c.next%len(c.mons)]
		c.next++
		conn, err := c.m.GetConnection(mon.Addrs, encoding.EntityTypeMon)
		if err != nil {
			c.lastErr = fmt.Errorf("mon.%s %v: %w", mon.Name, mon.Addrs, err)
			continue
		}
		c.hunting[conn] = true
		go c.watch(conn)
		if conn.IsMsgr1() {
			// msgr1: authenticate in MAuth messages first.
			if err := c.startAuth1Locked(conn); err != nil {
				c.lastErr = err
				delete(c.hunting, conn)
			}
			continue
		}
		// MonClient asks for the monmap first; sending it also starts the
		// connection (and its authentication).
		if err := conn.Send(&messages.MMonGetMap{}); err != nil {
			c.lastErr = err
			delete(c.hunting, conn)
		}
	}
	wait := time.Duration(float64(c.opts.HuntInterval) * c.backoff)
	c.backoff = min(c.backoff*1.5, 10)
	c.armHuntLocked(wait)
}

func (c *Client) armHuntLocked(d time.Duration) {
	if c.huntTimer != nil {
		c.huntTimer.Stop()
	}
	c.huntTimer = time.AfterFunc(d, c.huntTimeout)
}

func (c *Client) stopHuntingLocked() {
	for conn := range c.hunting {
		conn.MarkDown()
		delete(c.hunting, conn)
		delete(c.auth1, conn)
	}
	if c.huntTimer != nil {
		c.huntTimer.Stop()
		c.huntTimer = nil
	}
}

func (c *Client) huntTimeout() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.active == nil && !c.closed && c.fatal == nil {
		c.reopenLocked()
	}
}

// HandleConnect is msgr's ms_handle_connect: the first hunting
// connection whose session opens becomes the active one.
func (c *Client) HandleConnect(conn *msgr.Conn) { c.connected(conn) }

func (c *Client) connected(conn Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.hunting[conn] || c.closed || c.fatal != nil || conn.IsMsgr1() {
		// (A msgr1 session opens once MAuth succeeds: auth1Done.)
		return
	}
	c.sessionOpenLocked(conn)
}

// sessionOpenLocked makes conn, authenticated, the active session.
func (c *Client) sessionOpenLocked(conn Conn) {
	delete(c.hunting, conn)
	c.stopHuntingLocked()
	c.active = conn
	c.perf.Inc(lMoncSessionsOpened, 1)
	c.sessionAt, c.lastPing = time.Now(), time.Time{}
	// MonClient names the messenger client.<global id> once it has one,
	// so that OSDs and mons tell this client's connections apart.
	if n := c.m.Name(); n.Num < 0 {
		if gid := c.GlobalID(); gid > 0 {
			c.m.SetMyName(encoding.EntityName{Type: n.Type, Num: int64(gid)})
		}
	}
	c.backoff, c.retry = 1, 0
	c.log.Debug("mon: session open", "mon", conn.PeerAddrs().String())
	c.sendSubsLocked()
	// Ceph resends what the lost session left unanswered.
	for tid, p := range c.cmds {
		c.sendCmdLocked(tid, p)
	}
	for h, p := range c.versions {
		conn.Send(&messages.MMonGetVersion{Handle: h, What: p.what})
	}
	c.resendReqsLocked()
	closeOnce(c.sessionCh)
}

// watch notices a connection that closes without a reset being reported
// (a session that never opened: refused, failed authentication).
func (c *Client) watch(conn Conn) {
	select {
	case <-conn.Done():
		c.lost(conn)
	case <-c.tickStop:
	}
}

// HandleReset is msgr's ms_handle_reset for mon connections.
func (c *Client) HandleReset(conn *msgr.Conn) bool { return c.lost(conn) }

// HandleRefused is msgr's ms_handle_refused.
func (c *Client) HandleRefused(conn *msgr.Conn) bool { return c.lost(conn) }

func (c *Client) lost(conn Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := conn.Err()
	if c.hunting[conn] {
		delete(c.hunting, conn)
		delete(c.auth1, conn)
		c.noteFailureLocked(conn, err)
		if len(c.hunting) == 0 && c.active == nil && c.fatal == nil && !c.closed {
			// Every candidate failed: try the next ones soon, backing off.
			c.retry = min(max(2*c.retry, 100*time.Millisecond), c.opts.HuntInterval)
			c.armHuntLocked(c.retry)
		}
		return true
	}
	if conn != c.active {
		return false
	}
	c.log.Info("mon: session reset; hunting", "mon", conn.PeerAddrs().String(), "err", err)
	c.active = nil
	c.sessionCh = make(chan struct{})
	c.noteFailureLocked(conn, err)
	c.renewing = false
	c.reopenLocked()
	return true
}

func (c *Client) noteFailureLocked(conn Conn, err error) {
	if err == nil {
		err = msgr.ErrConnClosed
	}
	c.lastErr = fmt.Errorf("%v: %w", conn.PeerAddrs(), err)
	if errors.Is(err, msgr.ErrAuth) || errors.Is(err, auth.ErrDenied) {
		c.failLocked(fmt.Errorf("%w (%w): %w", ErrAuthFailed, auth.ErrDenied, c.lastErr))
	}
}
