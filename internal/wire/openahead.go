package wire

import "github.com/gomsgr/msgr/internal/aesgcm"

// openAhead says the Decoder opens a big secure frame's records as their
// bytes arrive (see secOn): only with aesgcm's kernels, where a Stream is
// as fast as a whole-record Open. Without them a Stream hashes bit by bit
// and whole records opened once complete are much cheaper. Tests set it
// to cover both ways on any CPU.
var openAhead = aesgcm.Kernels()

// startOpenAhead begins opening the big secure frame under way as it
// arrives, from its first record not yet opened: v2.1's first record
// (preamble and inline bytes) was opened by readPreamble, v2.0's one
// record was only peeked at.
func (d *Decoder) startOpenAhead() {
	d.secOn, d.secStart, d.secEnd = true, 0, 0
	d.secAt = 0
	if d.rev1 {
		d.secAt = firstSecureRecord
	}
}

// recordEnd is where the secure record of the frame under way that starts
// at frame offset at ends, its tag included: v2.1 has a record for the
// rest of a segment 0 that does not fit inline, then one for the other
// segments and the epilogue, which ends the frame; v2.0 has one record.
func (d *Decoder) recordEnd(at int) int {
	if d.rev1 && at == firstSecureRecord {
		if p0 := int(pad16(uint64(d.pre.Lengths[0]))); p0 > InlineSize {
			return at + p0 - InlineSize + TagSize
		}
	}
	return d.frameLen
}

// openRecords decrypts in place the bytes of the frame under way that
// have arrived since the last call, while they are still in cache (the
// read just brought them), and checks each record's tag once all of it
// is in: ErrAuthTag, and the record's decrypted bytes zeroed, if it does
// not match. next returns the frame only after every tag checked out, so
// no unauthenticated byte is delivered.
func (d *Decoder) openRecords() error {
	avail := min(d.w-d.r, d.frameLen)
	for d.secAt < avail {
		if d.secEnd == 0 {
			if err := d.rx.openStart(); err != nil {
				return err
			}
			d.secStart, d.secEnd = d.secAt, d.recordEnd(d.secAt)
		}
		if to := min(avail, d.secEnd-TagSize); to > d.secAt {
			d.rx.openUpdate(d.buf[d.r+d.secAt : d.r+to])
			d.secAt = to
		}
		if avail < d.secEnd {
			return nil
		}
		if err := d.rx.openVerify(d.buf[d.r+d.secAt : d.r+d.secEnd]); err != nil {
			clear(d.buf[d.r+d.secStart : d.r+d.secAt])
			return err
		}
		d.secAt, d.secEnd = d.secEnd, 0
	}
	return nil
}

// openRecord opens a record of the frame just completed (in place, tag
// last), unless openRecords already did as it arrived.
func (d *Decoder) openRecord(rec []byte) error {
	if d.secOn {
		return nil
	}
	return d.rx.open(rec)
}
