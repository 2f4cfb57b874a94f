//go:build race

package msgr

// checkOwnership makes loop-owned Conn state assert, in race-detector
// builds (so in every test run), that it runs on the Conn's worker, as
// Ceph's EventCenter::in_thread() asserts.
const checkOwnership = true
