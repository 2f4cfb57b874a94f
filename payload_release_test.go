package msgr

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// takeMsg keeps its data without copying: Decode takes the received
// buffer (message.Payload.Take), and its holder releases it when done.
type takeMsg struct {
	Seq  uint64
	Data []byte
	buf  message.Releaser
}

const takeMsgType = 0x7e04

func (*takeMsg) Type() uint16              { return takeMsgType }
func (*takeMsg) Version() (uint16, uint16) { return 1, 1 }

func (m *takeMsg) Encode(_ *message.Header, _ uint64, p *message.Payload) error {
	p.Front = binary.LittleEndian.AppendUint64(p.Front, m.Seq)
	p.Data = m.Data
	return nil
}

func (m *takeMsg) Decode(_ *message.Header, _ uint64, p *message.Payload) error {
	if len(p.Front) != 8 {
		return fmt.Errorf("front of %d bytes", len(p.Front))
	}
	m.Seq = binary.LittleEndian.Uint64(p.Front)
	m.Data, m.buf = p.Data, p.Take()
	return nil
}

func takeData(seq uint64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seq) ^ byte(i>>3)
	}
	return b
}

// TestPayloadOwnership: big messages arrive in pooled buffers, small ones
// (from 1 KiB) are copied into pooled buffers. One whose
// Decode took the buffer keeps its bytes, read on another goroutine while
// later messages arrive, until it is released; a message that did not
// take it (it copies) lets the buffer go back at once. In race-detector
// builds a released buffer is overwritten from another goroutine, so a
// messenger that recycled a taken buffer early (or a holder that read
// after Release) fails with a data race, as well as on the bytes.
func TestPayloadOwnership(t *testing.T) {
	for _, size := range []int{4<<10 + 17, 1<<20 + 4321} {
		t.Run(fmt.Sprint(size), func(t *testing.T) { testPayloadOwnership(t, size) })
	}
}

func testPayloadOwnership(t *testing.T, size int) {
	const n = 24
	var (
		mu       sync.Mutex
		got      = map[uint64]bool{}
		bad      []string
		wg       sync.WaitGroup
		received = make(chan struct{}, n)
		taken    int
	)
	disp := DispatcherFunc(func(c *Conn, m message.Message) bool {
		switch tm := m.(type) {
		case *takeMsg:
			if tm.buf != nil {
				taken++ // on the connection's loop: one connection
			}
			wg.Add(1)
			go func() { // the holder reads later, on its own goroutine
				defer wg.Done()
				ok := bytes.Equal(tm.Data, takeData(tm.Seq, size))
				if tm.buf != nil {
					tm.buf.Release()
				}
				mu.Lock()
				got[tm.Seq] = true
				if !ok {
					bad = append(bad, fmt.Sprint(tm.Seq))
				}
				mu.Unlock()
				received <- struct{}{}
			}()
		case *testMsg: // copied in Decode: its buffer went back already
			ok := bytes.Equal(tm.Data, takeData(tm.Seq, size))
			mu.Lock()
			got[1000+tm.Seq] = true
			if !ok {
				bad = append(bad, fmt.Sprint("copied ", tm.Seq))
			}
			mu.Unlock()
			received <- struct{}{}
		default:
			return false
		}
		return true
	})
	reg := message.NewRegistry()
	reg.Register(takeMsgType, func() message.Message { return &takeMsg{} })
	reg.Register(testMsgType, func() message.Message { return &testMsg{} })
	srv := startMessengerCfg(t, Config{Name: osdName(1), Nonce: 11, Registry: reg}, true, Options{}, disp)
	srv.SetDefaultPolicy(StatelessServer(0))
	cli := startMessengerCfg(t, Config{Name: clientName(2), Nonce: 12, Registry: reg}, false, Options{}, newRecorder())
	cli.SetDefaultPolicy(LosslessClient(0))
	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(0); i < n; i++ {
		var m message.Message = &takeMsg{Seq: i, Data: takeData(i, size)}
		if i%3 == 2 {
			m = &testMsg{Seq: i, Data: takeData(i, size)}
		}
		if err := c.SendContext(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		<-received
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("messages with overwritten data: %v", bad)
	}
	if len(got) != n || taken == 0 {
		t.Fatalf("%d messages, %d in buffers taken", len(got), taken)
	}
}
