//go:build !amd64 || purego

package aesgcm

// No kernels: every record goes through crypto/cipher's GCM.
const haveAVX512 = false

func ctrAVX512(*[roundKeysSize]byte, *[BlockSize]byte, []byte, []byte) {
	panic("aesgcm: no AVX-512 kernel")
}

func ghashAVX512(*[tableSize]byte, *[BlockSize]byte, []byte) {
	panic("aesgcm: no AVX-512 kernel")
}

func sealAVX512(*[roundKeysSize]byte, *[tableSize]byte, *[BlockSize]byte, *[BlockSize]byte, []byte, []byte) {
	panic("aesgcm: no AVX-512 kernel")
}

func openAVX512(*[roundKeysSize]byte, *[tableSize]byte, *[BlockSize]byte, *[BlockSize]byte, []byte, []byte) {
	panic("aesgcm: no AVX-512 kernel")
}
