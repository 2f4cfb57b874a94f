//go:build !amd64 || purego

package encoding

// No folding kernel: CRC32C is the standard library's.
const canFold = false

func foldAVX512(uint32, []byte) uint32 { panic("encoding: no folding kernel") }
