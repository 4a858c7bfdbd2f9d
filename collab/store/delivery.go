package store

import (
	"context"
	"sync"
)

// The delivery side of Notifier.Watch and Relay.Subscribe, shared by the
// stores: each watch or subscription calls its fn from a goroutine of its
// own, so that whoever posts to it never waits for fn.

// delivery is what SeqWatch and MsgSub have in common: a goroutine that
// ends when its context is done or Stop is called.
type delivery struct {
	done chan struct{} // closed by Stop
	gone chan struct{} // closed when the goroutine has returned
	once sync.Once
}

func newDelivery() delivery {
	return delivery{done: make(chan struct{}), gone: make(chan struct{})}
}

// Done is closed once Stop has been called.
func (d *delivery) Done() <-chan struct{} { return d.done }

// end ends delivery without waiting; Stop also waits.
func (d *delivery) end() { d.once.Do(func() { close(d.done) }) }

// Stop ends delivery and waits until the goroutine has returned: a call
// of fn in progress has ended and none starts after. It may be called
// more than once, but not from fn.
func (d *delivery) Stop() {
	d.end()
	<-d.gone
}

// over reports, without waiting, whether delivery has ended: select picks
// at random among ready cases, so a delivery that has ended must not go
// on because a wake-up happened to be chosen.
func (d *delivery) over(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	case <-d.done:
		return true
	default:
		return false
	}
}

// start runs loop in a goroutine of its own, then exit (which may forget
// the delivery in its owner's registry).
func (d *delivery) start(ctx context.Context, exit func(), loop func(ctx context.Context)) {
	go func() {
		defer close(d.gone)
		if exit != nil {
			defer exit()
		}
		loop(ctx)
	}()
}

// SeqWatch delivers the seqs posted to it, in increasing order, coalescing
// those posted while fn is busy: fn is told the highest seq posted since
// its last call, if higher than the last it was told.
type SeqWatch struct {
	delivery
	fn   func(seq int64)
	wake chan struct{} // capacity 1: a pending wake-up

	mu      sync.Mutex
	pending int64 // the highest seq posted
}

// NewSeqWatch returns a SeqWatch for fn; Start it.
func NewSeqWatch(fn func(seq int64)) *SeqWatch {
	return &SeqWatch{delivery: newDelivery(), fn: fn, wake: make(chan struct{}, 1)}
}

// Post records seq without waiting.
func (w *SeqWatch) Post(seq int64) {
	w.mu.Lock()
	w.pending = max(w.pending, seq)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is already pending; it will read the new seq
	}
}

// Start delivers the seqs posted above last until ctx is done or Stop is
// called; then exit runs.
func (w *SeqWatch) Start(ctx context.Context, last int64, exit func()) {
	w.start(ctx, exit, func(ctx context.Context) {
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.done:
				return
			case <-w.wake:
			}
			if w.over(ctx) {
				return
			}
			w.mu.Lock()
			seq := w.pending
			w.mu.Unlock()
			if seq > last {
				last = seq
				w.fn(seq)
			}
		}
	})
}

// MsgSub delivers the messages posted to it in order, through a queue of
// a given size: a message posted while the queue is full is dropped.
type MsgSub struct {
	delivery
	fn    func(msg []byte)
	queue chan []byte
}

// NewMsgSub returns a MsgSub for fn with a queue of size messages; Start
// it.
func NewMsgSub(fn func(msg []byte), size int) *MsgSub {
	return &MsgSub{delivery: newDelivery(), fn: fn, queue: make(chan []byte, size)}
}

// Post queues msg without waiting; it is dropped when the queue is full.
func (r *MsgSub) Post(msg []byte) {
	select {
	case r.queue <- msg:
	default:
	}
}

// Start delivers the messages posted until ctx is done or Stop is
// called; then exit runs.
func (r *MsgSub) Start(ctx context.Context, exit func()) {
	r.start(ctx, exit, func(ctx context.Context) {
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.done:
				return
			case msg := <-r.queue:
				if r.over(ctx) {
					return
				}
				r.fn(msg)
			}
		}
	})
}
