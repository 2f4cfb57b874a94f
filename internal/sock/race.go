//go:build race && (linux || freebsd)

package sock

import (
	"runtime"
	"unsafe"
)

// The raw calls tell the race detector what the kernel read and wrote, as
// x/sys's wrappers do: a read writes the bytes it filled, a write reads
// the bytes it sent, and ioSync orders a write before the read of its
// bytes.

const raceenabled = true

var ioSync int64

func raceWrote(p unsafe.Pointer, n int) { runtime.RaceWriteRange(p, n) }
func raceRead(p unsafe.Pointer, n int)  { runtime.RaceReadRange(p, n) }
func raceReadDone()                     { runtime.RaceAcquire(unsafe.Pointer(&ioSync)) }
func raceWriteStart()                   { runtime.RaceReleaseMerge(unsafe.Pointer(&ioSync)) }
