package wire

import (
	"encoding/binary"
	"fmt"
	"runtime"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// Decoder turns a byte stream into frames, resumably: bytes may arrive
// split anywhere, and Next yields each frame once all of it is buffered.
//
// Use: Banner first (once), then Next until it returns nil, feeding bytes
// in between with Feed (copying) or ReadBuffer/ReadSpace + Commit (reading
// straight into the Decoder's buffer). SetRev1 after the banners are
// exchanged, SetSecure when the protocol installs the keys (after
// AUTH_DONE); both take effect from the next frame.
//
// Buffers: the Frame Next returns, and every slice in it, alias the
// Decoder's buffer and are valid until the next call to Feed, ReadBuffer,
// ReadSpace, Commit, Next or Release, unless Detach hands them over. Copy
// what must live longer.
//
// Memory: the receive buffer comes from a pool shared by all Decoders and
// goes back to it on Release once everything buffered is consumed, so an
// idle Decoder holds none. No buffer is sized from a length the peer
// claims before its bytes arrive: the buffer grows (doubling) as bytes
// come. Until Establish, frames are bounded by PreSessionLimits (a peer
// that has not authenticated gets a few KiB) and, with a Budget, charged
// to it. After Establish, a frame of BigFrame bytes or more that is not
// all buffered when its preamble is read gets a pooled buffer of its own
// of its size class (frames over MaxPooledBuf grow into theirs as they
// arrive); Detach then gives that buffer to the caller as a Buf instead of
// a copy.
//
// Errors are sticky: once Next or Banner fails the stream is out of sync
// and every later call returns the same error.
//
// A Decoder is owned by one goroutine (the connection's read side).
type Decoder struct {
	buf    []byte
	bufp   *[]byte // buf's pool handle; nil when buf is not pooled
	r, w   int     // buf[r:w] is buffered, unconsumed input
	limits Limits
	rev1   bool
	rx     *Cipher // nil: crc mode
	err    error

	// established: the session is open (Establish); big frames get
	// buffers of their own. Before, limits are PreSessionLimits.
	established bool
	sessLimits  Limits // the limits Establish applies
	charge      *charge
	cleanup     runtime.Cleanup

	// big: buf is the frame under way's own buffer, the frame from
	// offset 0, in buf[:frameLen] (r is 0 until Next returns it, then
	// frameLen); buf may be shorter while a frame over MaxPooledBuf grows,
	// and longer (its size class), the excess never used. Bytes fed
	// beyond the frame wait in tail[:tailW]. detached: Detach took buf.
	big      bool
	detached bool
	tail     []byte
	tailp    *[]byte
	tailW    int

	// crcOn: in crc mode, the segment crcs of a frame with a buffer of
	// its own are computed as its bytes arrive (crcAhead), while the peer
	// is still sending, so that only the last read's bytes are left to
	// check when the frame completes. crcVal[crcSeg] covers the frame's
	// bytes up to offset crcAt.
	crcOn  bool
	crcSeg int
	crcAt  int
	crcVal [MaxSegments]uint32

	// Routing (rxdest.go): router chooses where a big frame's data
	// segment goes; routed: it was asked for the frame under way. With
	// dest, frame offsets [destAt, destAt+destLen) are dest's memory
	// and buf holds the frame's other bytes, those after the data moved
	// down by destLen. pinned: dest's memory while a read or crc is
	// under way (bigRoom to Commit). roomEnd: where the last room handed
	// out ends (frame offset). lost: the data went partly to a revoked
	// RxBuffer; the frame is dropped.
	router          Router
	routed          bool
	dest            *message.RxBuffer
	destAt, destLen int
	pinned          []byte
	roomEnd         int
	lost            bool

	// The frame under way. In secure mode the first record is decrypted
	// in place when it arrives, so that progress must be remembered.
	havePre  bool
	pre      Preamble
	frameLen int
	peekPre  [PreambleSize]byte // v2.0 secure: preamble decrypted ahead

	frame   Frame
	aborted uint64

	// hint: the on-wire length of the last message frame when it was
	// big (0 otherwise). A read that starts a frame gets a buffer of its
	// size class and exactly that much room, so that a stream of equal
	// messages reads one frame per read, straight into the buffer it is
	// detached in (promote adopts it: no copy).
	hint int
}

// BigFrame is the on-wire size from which a frame that is still arriving
// gets a buffer of its own (see Detach). Smaller frames share the pooled
// receive buffer; copying them is cheaper than a buffer each.
const BigFrame = 32 << 10

// bigRead bounds one read into a big frame's buffer, so that the crc of
// what was just read is computed while it is still in cache.
const bigRead = 512 << 10

// PreSessionLimits bound every frame before the session is established
// (banner exchange, HELLO, AUTH_*, idents, session frames): real peers
// send at most a few hundred bytes there (the largest seen from Ceph
// 16.2.15 is a cephx AUTH_DONE of 840 bytes), so a peer that has not
// authenticated cannot make a connection hold more than this.
var PreSessionLimits = Limits{MaxSegmentLen: 64 << 10, MaxFrameLen: 64 << 10}

// preSessionRead bounds the room a read gets before Establish, so that a
// connection that has not authenticated holds a small buffer.
const preSessionRead = 4 << 10

// NewDecoder returns a Decoder for v2.1 framing in crc mode, before its
// session is established: its frames are bounded by PreSessionLimits
// until Establish applies l (DefaultLimits if l is the zero value).
func NewDecoder(l Limits) *Decoder {
	if l.MaxSegmentLen == 0 {
		l.MaxSegmentLen = DefaultLimits.MaxSegmentLen
	}
	if l.MaxFrameLen == 0 {
		l.MaxFrameLen = DefaultLimits.MaxFrameLen
	}
	return &Decoder{limits: tighter(l, PreSessionLimits), sessLimits: l, rev1: true}
}

func tighter(a, b Limits) Limits {
	return Limits{MaxSegmentLen: min(a.MaxSegmentLen, b.MaxSegmentLen), MaxFrameLen: min(a.MaxFrameLen, b.MaxFrameLen)}
}

// Establish is called once the session is open (the peer authenticated):
// frames from the next one on are bounded by the Decoder's own limits,
// big ones get buffers of their own, and the Budget (if any) is given
// back and no longer charged.
func (d *Decoder) Establish() {
	d.established = true
	d.limits = d.sessLimits
	d.SetBudget(nil)
}

// Err returns the Decoder's sticky error, if any.
func (d *Decoder) Err() error { return d.err }

func (d *Decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// SetRev1 selects v2.1 (true) or v2.0 framing for the frames that follow.
func (d *Decoder) SetRev1(rev1 bool) { d.rev1 = rev1 }

// SetSecure switches to secure mode from the next frame on; nil returns
// to crc mode. rx comes from NewSecure.
func (d *Decoder) SetSecure(rx *Cipher) { d.rx = rx }

// Secure reports whether secure mode is on.
func (d *Decoder) Secure() bool { return d.rx != nil }

// Aborted counts frames their sender aborted (late status); Next drops
// them, as Ceph does.
func (d *Decoder) Aborted() uint64 { return d.aborted }

// Pending returns the preamble of the frame under way once it has arrived
// (and, in secure v2.1, authenticated), before the rest of the frame: a
// messenger can apply its throttles to the lengths before reading on.
func (d *Decoder) Pending() (Preamble, bool) { return d.pre, d.havePre }

// Buffered returns the number of bytes received and not yet consumed.
func (d *Decoder) Buffered() int { return d.w - d.r + d.tailW }

// Held returns the bytes of receive buffer the Decoder holds (its memory
// cost; 0 once released).
func (d *Decoder) Held() int { return len(d.buf) + len(d.tail) }

// Need returns how many more bytes the frame under way needs at least
// (the preamble's when it has not arrived).
func (d *Decoder) Need() int {
	want := d.headLen()
	if d.havePre {
		want = d.frameLen
	}
	if n := want - d.Buffered(); n > 0 {
		return n
	}
	return 0
}

// bigEnd is where the writable part of a big frame's buffer ends.
func (d *Decoder) bigEnd() int { return min(len(d.buf), d.frameLen) }

// growBig makes room after d.w in a big frame's buffer that is shorter
// than its frame (over MaxPooledBuf): it doubles, up to the frame.
func (d *Decoder) growBig() {
	if d.w < len(d.buf) || len(d.buf) >= d.frameLen {
		return
	}
	n := min(d.frameLen, 2*len(d.buf))
	nb := make([]byte, n)
	copy(nb, d.buf[:d.w])
	d.buf, d.bufp = nb, &nb
}

func (d *Decoder) headLen() int {
	if d.rx != nil && d.rev1 {
		return firstSecureRecord
	}
	return PreambleSize
}

// Feed appends received bytes.
func (d *Decoder) Feed(p []byte) {
	d.settle()
	if d.big {
		for len(p) > 0 && d.w < d.frameLen {
			n := copy(d.bigRoom(len(p)), p)
			d.bigCommit(n)
			p = p[n:]
		}
		if len(p) > 0 {
			if len(d.tail)-d.tailW < len(p) {
				tp, t := getBuf(max(d.tailW+len(p), 2*len(d.tail)))
				copy(t, d.tail[:d.tailW])
				putBuf(d.tailp)
				d.tail, d.tailp = t, tp
			}
			d.tailW += copy(d.tail[d.tailW:], p)
		}
		return
	}
	b := d.space(len(p))
	n := copy(b, p)
	d.w += n
	if n < len(p) {
		d.fail(ErrMemory)
	}
}

// ReadBuffer returns all the free buffer space to read into: at least
// least bytes (before Establish, at most preSessionRead of them) and at
// least what the frame under way still needs. Commit then reports how much
// was read.
//
// The room is min at least, or what the frame under way still needs, but
// never more than twice what is buffered beyond min: a frame's buffer
// grows as its bytes arrive, whatever its preamble claims. With a Budget
// that refuses the growth the Decoder fails (ErrMemory, sticky) and the
// slice returned is what room is left, perhaps none.
func (d *Decoder) ReadBuffer(least int) []byte {
	d.settle()
	if d.big {
		if d.frameLen-d.w >= max(least, 1) {
			if b := d.bigRoom(d.frameLen); len(b) >= least {
				return b
			}
			d.undest(false)
			return d.bigRoom(d.frameLen)
		}
		d.undest(false)
		d.unbig()
	}
	if !d.established {
		least = min(least, preSessionRead)
	}
	d.space(max(least, d.grow()))
	return d.buf[d.w:]
}

// hintRoom is the room of a read that starts a frame when the last
// message frame was big (see hint): a buffer of that frame's size class,
// nothing buffered, room for that frame (at most bigRead).
func (d *Decoder) hintRoom() []byte {
	if c := bufClass(d.hint); len(d.buf) != classSize(c) {
		p, b := getBuf(d.hint)
		d.account(len(b) - len(d.buf))
		putBuf(d.bufp)
		d.buf, d.bufp = b, p
	}
	d.r, d.w = 0, 0
	return d.buf[:min(d.hint, bigRead)]
}

// grow is how much room the frame under way may have beyond what is
// buffered: what it still needs, at most as much as is buffered (so the
// buffer at most doubles per read).
func (d *Decoder) grow() int {
	return min(d.Need(), max(d.w-d.r, 1<<minBufShift))
}

// ReadSpace is ReadBuffer for a socket reader: at least least bytes,
// except while a frame with a buffer of its own is under way, when it is
// what that frame still needs (perhaps less than least; at most bigRead), so
// that the frame's buffer holds nothing else and Detach can hand it over;
// and when nothing is buffered and the last message frame was big, when
// it is that frame's length (at most bigRead) in a buffer of its size
// class, which the next frame keeps as its own if it is of that class
// (streams of equal messages: one read and no copy per frame).
func (d *Decoder) ReadSpace(least int) []byte {
	d.settle()
	if d.big && d.w < d.frameLen {
		n := bigRead
		if !d.routed && d.routable() && d.w < d.hdrEnd() {
			// Up to the header, so that the Router is asked
			// before any data byte lands.
			n = d.hdrEnd() - d.w
		}
		return d.bigRoom(n)
	}
	if d.established && d.hint > 0 && d.w == d.r && !d.big {
		return d.hintRoom()
	}
	return d.ReadBuffer(max(least, 1))
}

// Awaiting is how many bytes the big frame under way still needs; 0 when
// no big frame is under way.
func (d *Decoder) Awaiting() int {
	if d.big && d.w < d.frameLen {
		return d.frameLen - d.w
	}
	return 0
}

// Commit adds n bytes just read into ReadBuffer's (or ReadSpace's) slice.
func (d *Decoder) Commit(n int) {
	if d.big {
		d.bigCommit(n)
		return
	}
	if n < 0 || n > len(d.buf)-d.w {
		d.fail(fmt.Errorf("%w: commit of %d bytes beyond the read buffer", ErrMalformed, n))
		return
	}
	d.w += n
}

// Detach hands over the buffer of the frame Next just returned, when that
// frame had one of its own (see BigFrame): it returns the Buf, and the
// Frame's slices then belong to its holder until Buf.Release (the Decoder
// never touches that memory again). Otherwise it returns nil and changes
// nothing. Call it after Next and before any other method.
func (d *Decoder) Detach() *Buf {
	if !d.big || d.r != d.frameLen || d.err != nil || d.detached {
		return nil
	}
	b := &Buf{p: d.bufp}
	d.detached = true
	d.settle()
	return b
}

// Release gives the receive buffer back to the pool if nothing buffered
// remains to be decoded, or else moves what remains (part of a frame) to
// the smallest pooled buffer that holds it and what its frame still needs,
// when that is smaller; the next Feed or ReadBuffer takes room again. So a
// Decoder between reads holds only the bytes in flight. A frame with a
// buffer of its own keeps it. Like Feed, it ends the validity of the last
// frame returned (unless detached).
func (d *Decoder) Release() {
	d.unpin()
	d.settle()
	if d.big {
		return
	}
	d.frame.Segments = [MaxSegments][]byte{}
	d.frame.Raw = nil
	if d.w == d.r {
		d.account(-len(d.buf))
		putBuf(d.bufp)
		d.buf, d.bufp, d.r, d.w = nil, nil, 0, 0
		return
	}
	n := d.w - d.r
	c := bufClass(n + d.Need())
	if c < 0 || classSize(c) >= len(d.buf) {
		return
	}
	d.account(classSize(c) - len(d.buf))
	p, b := getBuf(classSize(c))
	copy(b, d.buf[d.r:d.w])
	putBuf(d.bufp)
	d.buf, d.bufp, d.r, d.w = b, p, 0, n
}

// account adds n bytes to the Budget's charge (n < 0 gives back); false
// when the Budget refuses.
func (d *Decoder) account(n int) bool {
	return d.charge == nil || d.charge.add(n)
}

// settle ends a frame buffer of its own once Next has returned its frame
// (the caller's after Detach, back to the pool otherwise) and goes on
// with the bytes that followed it.
func (d *Decoder) settle() {
	if !d.big || d.r != d.frameLen {
		return
	}
	if !d.detached {
		putBuf(d.bufp)
	}
	d.buf, d.bufp, d.r, d.w = d.tail, d.tailp, 0, d.tailW
	d.tail, d.tailp, d.tailW = nil, nil, 0
	d.big, d.detached = false, false
	d.routed, d.dest, d.destAt, d.destLen, d.lost = false, nil, 0, 0, false
}

// unbig moves the frame under way out of its own buffer into a pooled
// one, with what followed it: a reader asked for more room than the frame
// needs (ReadBuffer's min).
func (d *Decoder) unbig() {
	n := d.w - d.r + d.tailW
	p, b := getBuf(max(n, 1<<minBufShift))
	copy(b[copy(b, d.buf[d.r:d.w]):], d.tail[:d.tailW])
	putBuf(d.tailp)
	putBuf(d.bufp)
	d.tail, d.tailp, d.tailW = nil, nil, 0
	d.buf, d.bufp, d.r, d.w = b, p, 0, n
	d.big = false
}

// space makes room for n more bytes after d.w and returns it. Consumed
// bytes are dropped first, so earlier frames' slices become invalid. When
// the Budget refuses a bigger buffer, it returns the room there is.
func (d *Decoder) space(n int) []byte {
	if d.r > 0 {
		d.w = copy(d.buf, d.buf[d.r:d.w])
		d.r = 0
	}
	if len(d.buf)-d.w < n {
		c := bufClass(max(d.w+n, 2*len(d.buf), 1<<minBufShift))
		size := d.w + n
		if c >= 0 {
			size = classSize(c)
		}
		if !d.account(size - len(d.buf)) {
			d.fail(ErrMemory)
			return d.buf[d.w:]
		}
		p, nb := getBuf(size)
		copy(nb, d.buf[:d.w])
		putBuf(d.bufp)
		d.buf, d.bufp = nb, p
	}
	return d.buf[d.w : d.w+n]
}

// Banner reads the peer's banner. It returns the banner and its raw bytes
// (part of what the pre-authentication signature covers), or a nil raw and
// a nil error if it has not all arrived.
func (d *Decoder) Banner() (Banner, []byte, error) {
	if d.err != nil {
		return Banner{}, nil, d.err
	}
	bn, n, err := ParseBanner(d.buf[d.r:d.w])
	if err != nil {
		d.err = err
		return Banner{}, nil, err
	}
	if n == 0 {
		return Banner{}, nil, nil
	}
	raw := d.buf[d.r : d.r+n]
	d.r += n
	return bn, raw, nil
}

// Next returns the next whole frame, or nil and a nil error if more bytes
// are needed (Need says how many at least). A stream that stops partway
// through a frame is incomplete, not corrupt: Next keeps returning nil.
func (d *Decoder) Next() (*Frame, error) {
	for {
		if d.err != nil {
			return nil, d.err
		}
		f, aborted, err := d.next()
		if err != nil {
			d.err = err
			return nil, err
		}
		if !aborted {
			return f, nil
		}
		d.aborted++
	}
}

func (d *Decoder) next() (*Frame, bool, error) {
	d.settle()
	if !d.havePre {
		if d.w-d.r < d.headLen() {
			return nil, false, nil
		}
		if err := d.readPreamble(); err != nil {
			return nil, false, err
		}
		if d.frameLen >= BigFrame && d.established && (d.w-d.r < d.frameLen || d.adoptable()) {
			d.promote()
		}
	}
	if d.crcOn {
		d.crcAhead()
	}
	if d.w-d.r < d.frameLen {
		return nil, false, nil
	}
	b := d.buf[d.r : d.r+d.frameLen-d.destLen]
	d.havePre = false
	d.r += d.frameLen
	f := &d.frame
	f.Preamble = d.pre
	f.Segments = [MaxSegments][]byte{}
	f.Raw = nil
	f.DataLost, f.DataRouted = false, false
	var ok bool
	var err error
	switch {
	case d.rx == nil && d.rev1:
		ok, err = d.crcRev1(f, b)
	case d.rx == nil:
		ok, err = d.crcRev0(f, b)
	case d.rev1:
		ok, err = d.secureRev1(f, b)
	default:
		ok, err = d.secureRev0(f, b)
	}
	d.crcOn = false
	if err == nil && d.routed {
		d.endRoute(f)
	}
	d.routed, d.dest, d.destAt, d.destLen, d.lost = false, nil, 0, 0, false
	if err != nil {
		return nil, false, fmt.Errorf("%v frame: %w", d.pre.Tag, err)
	}
	return f, !ok, nil
}

// readPreamble parses (and in secure v2.1 decrypts) the preamble and
// checks every length before the buffer is allowed to grow for the frame.
func (d *Decoder) readPreamble() error {
	head := d.buf[d.r : d.r+d.headLen()]
	var err error
	switch {
	case d.rx == nil:
		err = parsePreamble(&d.pre, head)
	case d.rev1:
		if err = d.rx.open(head); err == nil {
			err = parsePreamble(&d.pre, head)
		}
	default:
		d.rx.peekPreamble(d.peekPre[:], head)
		err = parsePreamble(&d.pre, d.peekPre[:])
	}
	if err != nil {
		return err
	}
	if err := d.limits.check(&d.pre); err != nil {
		return err
	}
	n := onWireLen(&d.pre, d.rev1, d.rx != nil)
	if n > d.limits.MaxFrameLen {
		return fmt.Errorf("%w: %v frame of %d bytes, limit %d", ErrTooLarge, d.pre.Tag, n, d.limits.MaxFrameLen)
	}
	d.frameLen = int(n)
	d.havePre = true
	if d.pre.Tag == TagMessage {
		d.hint = 0
		if d.established && d.frameLen >= BigFrame && d.frameLen <= MaxPooledBuf {
			d.hint = d.frameLen
		}
	}
	return nil
}

// promote moves the frame under way, which has not all arrived, into a
// buffer of its own: a pooled one of its size class, or for a frame over
// MaxPooledBuf one that grows as it arrives. Its lengths have been checked.
func (d *Decoder) promote() {
	if d.adoptable() {
		// A read sized by hint: the buffer becomes the frame's own.
		d.account(-len(d.buf))
		d.startBig()
		if d.routable() && d.w >= d.hdrEnd() {
			d.route(nil)
		}
		return
	}
	if d.routable() && d.w-d.r >= d.hdrEnd() {
		d.route(d.buf[d.r+PreambleSize : d.r+PreambleSize+int(d.pre.Lengths[SegHeader])])
	}
	n := d.frameLen - d.destLen
	if n > MaxPooledBuf {
		n = max(d.w-d.r, 1<<minBufShift) * 2
	}
	p, b := getBuf(n)
	old, oldp := d.buf[d.r:d.w], d.bufp
	d.account(-len(d.buf))
	d.buf, d.bufp, d.r, d.w = b, p, 0, 0
	d.startBig()
	// What arrived of the frame goes where the rest will.
	for len(old) > 0 {
		n := copy(d.bigRoom(len(old)), old)
		d.bigCommit(n)
		old = old[n:]
	}
	putBuf(oldp)
}

// adoptable: the frame under way starts the buffer, which holds nothing
// beyond it and is of its size class, so it can be the frame's own.
func (d *Decoder) adoptable() bool {
	return d.r == 0 && d.w <= d.frameLen && d.bufp != nil && d.frameLen <= MaxPooledBuf &&
		len(d.buf) == classSize(bufClass(d.frameLen))
}

// startBig marks d.buf as the frame under way's own buffer and, in crc
// mode, starts the crcs taken as its bytes arrive.
func (d *Decoder) startBig() {
	d.big, d.detached = true, false
	if d.rx == nil {
		d.crcOn, d.crcSeg, d.crcAt = true, 0, 0
		for i := range d.crcVal {
			d.crcVal[i] = 0xffffffff
		}
	}
}

// crcAhead extends the segment crcs over the frame's bytes that have
// arrived (crc mode, frame under way; see crcOn). The segments are laid
// out back to back after the preamble, save for segment 0's own crc in
// v2.1 when it is not empty.
func (d *Decoder) crcAhead() {
	avail := min(d.w-d.r, d.frameLen)
	start := PreambleSize
	for i := 0; i < d.crcSeg; i++ {
		start += d.segGap(i)
	}
	for d.crcSeg < int(d.pre.NumSegments) {
		end := start + int(d.pre.Lengths[d.crcSeg])
		if from, to := max(d.crcAt, start), min(avail, end); to > from {
			b := d.frameBytes(from, to)
			if b == nil {
				return // routed data not pinned: its reader takes the crc
			}
			d.crcVal[d.crcSeg] = encoding.CRC32C(d.crcVal[d.crcSeg], b)
			d.crcAt = to
		}
		if avail < end {
			return
		}
		start += d.segGap(d.crcSeg)
		d.crcSeg++
	}
}

// segGap is how far segment i's start is from the next one's.
func (d *Decoder) segGap(i int) int {
	n := int(d.pre.Lengths[i])
	if i == 0 && d.rev1 && n > 0 {
		n += crcSize
	}
	return n
}

// checkSeg checks segment i against the crc the frame carries for it.
func (d *Decoder) checkSeg(i int, seg []byte, want uint32) error {
	if d.crcOn {
		if got := d.crcVal[i]; got != want {
			return fmt.Errorf("%w: segment %d crc %#08x, computed %#08x", ErrBadCRC, i, want, got)
		}
		return nil
	}
	return checkCRC(i, seg, want)
}

func checkCRC(what int, seg []byte, want uint32) error {
	if got := SegmentCRC(seg); got != want {
		return fmt.Errorf("%w: segment %d crc %#08x, computed %#08x", ErrBadCRC, what, want, got)
	}
	return nil
}

func lateStatus(s byte) (complete bool, err error) {
	switch s & lateStatusMask {
	case lateStatusComplete:
		return true, nil
	case lateStatusAborted:
		return false, nil
	}
	return false, fmt.Errorf("%w: late status %#x", ErrMalformed, s)
}

func (d *Decoder) crcRev1(f *Frame, b []byte) (bool, error) {
	f.Raw = b
	off := PreambleSize
	l0 := int(f.Lengths[0])
	if l0 > 0 {
		f.Segments[0] = b[off : off+l0 : off+l0]
		if err := d.checkSeg(0, f.Segments[0], binary.LittleEndian.Uint32(b[off+l0:])); err != nil {
			return false, err
		}
		off += l0 + crcSize
	}
	n := int(f.NumSegments)
	if n == 1 {
		return true, nil
	}
	epi := b[len(b)-epilogueCRCRev1:]
	for i := 1; i < n; i++ {
		l := int(f.Lengths[i])
		if i == SegData && d.dest != nil {
			f.Raw = nil // the data is elsewhere (endRoute)
		} else {
			f.Segments[i] = b[off : off+l : off+l]
			off += l
		}
		if err := d.checkSeg(i, f.Segments[i], binary.LittleEndian.Uint32(epi[1+4*(i-1):])); err != nil {
			return false, err
		}
	}
	return lateStatus(epi[0])
}

func (d *Decoder) crcRev0(f *Frame, b []byte) (bool, error) {
	f.Raw = b
	off := PreambleSize
	epi := b[len(b)-epilogueCRCRev0:]
	for i := 0; i < int(f.NumSegments); i++ {
		l := int(f.Lengths[i])
		if i == SegData && d.dest != nil {
			f.Raw = nil // the data is elsewhere (endRoute)
		} else {
			f.Segments[i] = b[off : off+l : off+l]
			off += l
		}
		if err := d.checkSeg(i, f.Segments[i], binary.LittleEndian.Uint32(epi[1+4*i:])); err != nil {
			return false, err
		}
	}
	return epi[0]&lateFlagAborted == 0, nil
}

func (d *Decoder) secureRev1(f *Frame, b []byte) (bool, error) {
	// Record 1 (preamble and inline bytes) was opened by readPreamble.
	l0 := int(f.Lengths[0])
	p0 := int(pad16(uint64(l0)))
	off := firstSecureRecord
	if p0 <= InlineSize {
		f.Segments[0] = b[PreambleSize : PreambleSize+l0 : PreambleSize+l0]
	} else {
		rest := p0 - InlineSize
		if err := d.rx.open(b[off : off+rest+TagSize]); err != nil {
			return false, err
		}
		// Close the gap left by record 1's tag so that segment 0 is
		// contiguous: move the inline bytes next to the rest.
		start := firstSecureRecord - InlineSize
		copy(b[start:off], b[PreambleSize:PreambleSize+InlineSize])
		f.Segments[0] = b[start : start+l0 : start+l0]
		off += rest + TagSize
	}
	n := int(f.NumSegments)
	if n == 1 {
		return true, nil
	}
	rec := b[off:]
	if err := d.rx.open(rec); err != nil {
		return false, err
	}
	o := 0
	for i := 1; i < n; i++ {
		l := int(f.Lengths[i])
		f.Segments[i] = rec[o : o+l : o+l]
		o += int(pad16(uint64(l)))
	}
	return lateStatus(rec[o])
}

func (d *Decoder) secureRev0(f *Frame, b []byte) (bool, error) {
	if err := d.rx.open(b); err != nil {
		return false, err
	}
	o := PreambleSize
	for i := 0; i < int(f.NumSegments); i++ {
		l := int(f.Lengths[i])
		f.Segments[i] = b[o : o+l : o+l]
		o += int(pad16(uint64(l)))
	}
	return b[o]&lateFlagAborted == 0, nil
}
