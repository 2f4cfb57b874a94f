package encoding

import (
	"errors"
	"fmt"
)

// ErrTruncated reports input that ended before a value was complete.
var ErrTruncated = errors.New("encoding: truncated input")

// ErrTooLarge reports a length prefix larger than the input that remains or
// than a caller's limit.
var ErrTooLarge = errors.New("encoding: length exceeds input or limit")

// ErrMalformed reports a value that is structurally invalid (for example a
// versioned struct whose length runs past its container).
var ErrMalformed = errors.New("encoding: malformed input")

// CompatError reports a versioned struct whose compat version is newer than
// the decoder supports. It matches ErrMalformed with errors.Is.
type CompatError struct {
	Struct    string // name of the struct being decoded
	CompatV   uint8  // compat version found on the wire
	Supported uint8  // newest version this decoder understands
}

func (e *CompatError) Error() string {
	return fmt.Sprintf("encoding: %s: compat version %d newer than supported %d", e.Struct, e.CompatV, e.Supported)
}

// Is makes a CompatError match ErrMalformed.
func (e *CompatError) Is(target error) bool { return target == ErrMalformed }
