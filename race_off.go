//go:build !race

package msgr

const checkOwnership = false
