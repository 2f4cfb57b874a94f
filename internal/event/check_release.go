//go:build !race && !msgr_debug

package event

const checkOwner = false
