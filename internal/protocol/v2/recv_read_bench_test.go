package v2

const hasReadBuffer = true

func readInto(m *Machine, n *net, p []byte) int {
	buf := m.ReadBuffer(64 << 10)
	k := copy(buf, p)
	m.Commit(n.now, k)
	return k
}
