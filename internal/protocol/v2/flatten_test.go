package v2

// The old action sequence, rebuilt from a Ready for tests that assert on
// it: write, deliver and acked stand for the typed lists.

type (
	write   struct{ Bufs [][]byte }
	deliver struct{ Msg *InMessage }
	acked   struct{ Msgs []*OutMessage }
)

func (write) isAction()   {}
func (deliver) isAction() {}
func (acked) isAction()   {}

// flatten returns r as one sequence: before each event, the messages
// delivered, one write of the frames and one acked since the previous
// event. The lists are copied: the result outlives the Machine's next call.
func flatten(r *Ready) []Action {
	var acts []Action
	r.Walk(func(bufs [][]byte, delivered []*InMessage, ack []*OutMessage, a Action) {
		for _, in := range delivered {
			acts = append(acts, deliver{in})
		}
		if len(bufs) > 0 {
			acts = append(acts, write{append([][]byte(nil), bufs...)})
		}
		if len(ack) > 0 {
			acts = append(acts, acked{append([]*OutMessage(nil), ack...)})
		}
		if a != nil {
			acts = append(acts, a)
		}
	})
	return acts
}
