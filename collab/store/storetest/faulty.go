package storetest

import (
	"context"
	"sync"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// Op names a method of store.DocLog, the calls a Faulty can fault.
type Op string

// The DocLog methods.
const (
	OpLoadSnapshot Op = "LoadSnapshot"
	OpPutSnapshot  Op = "PutSnapshot"
	OpHead         Op = "Head"
	OpLogStart     Op = "LogStart"
	OpAppend       Op = "Append"
	OpReadUpdates  Op = "ReadUpdates"
)

// Call is a call that meets a Fault.
type Call struct {
	Ctx context.Context
	Op  Op
	// ID is the document's id.
	ID string
	// Seq is the call's seq: Append's expectSeq, ReadUpdates' after,
	// PutSnapshot's doc.Seq; 0 for the others.
	Seq int64
}

// Fault is what a call meets before it reaches the wrapped store. Its
// parts act in this order, each only when set.
type Fault struct {
	// Before runs first, in the caller's goroutine. It may call the wrapped
	// store, Faulty.Store, for instance to append as another writer would
	// between the caller's read and its append; calls through the Faulty
	// itself meet faults again.
	Before func(c Call)
	// Wait holds the call until it is closed. If the call's context ends
	// first, the call returns the context's error and the store is not
	// called.
	Wait <-chan struct{}
	// Err is returned instead of calling the store, which is unchanged.
	Err error
}

// Faulty is a real store with faults injected into the DocLog methods, for
// failure tests of what is built on a store: the next call or every call
// of a method can fail with a given error, wait until released, or run a
// hook first. Calls that meet no fault, and every other method, go to the
// wrapped store unchanged; with no faults set, a Faulty passes Run.
//
// Faulty implements store.Notifier by passing Watch to the wrapped store;
// if that store is not a Notifier, a watch is never told anything.
//
// Its methods are safe for concurrent use; faults may be set while calls
// are under way and apply to calls that start afterwards.
type Faulty struct {
	// Store is the wrapped store.
	store.Store

	mu    sync.Mutex
	next  map[Op][]Fault
	every map[Op]Fault
	calls map[Op]int
}

var (
	_ store.Store    = (*Faulty)(nil)
	_ store.Notifier = (*Faulty)(nil)
)

// NewFaulty wraps s, with no faults set.
func NewFaulty(s store.Store) *Faulty {
	return &Faulty{Store: s, next: map[Op][]Fault{}, every: map[Op]Fault{}, calls: map[Op]int{}}
}

// Next sets a fault for the next call of op that no earlier Next fault
// takes: faults set with Next are met once each, in order, before any
// Every fault.
func (f *Faulty) Next(op Op, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next[op] = append(f.next[op], fault)
}

// Every sets the fault met by every call of op (when no Next fault is
// pending) until Clear; it replaces an earlier Every fault of op.
func (f *Faulty) Every(op Op, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.every[op] = fault
}

// Clear removes the faults of op not yet met, Next and Every alike.
func (f *Faulty) Clear(op Op) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.next, op)
	delete(f.every, op)
}

// Calls returns how many calls of op have been made, faulted or not.
func (f *Faulty) Calls(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// Hold holds the next call of op: the call is sent on held when it
// arrives, and goes on to the store when release is called (once; later
// calls do nothing).
func (f *Faulty) Hold(op Op) (held <-chan Call, release func()) {
	arrived := make(chan Call, 1)
	gate := make(chan struct{})
	var once sync.Once
	f.Next(op, Fault{Before: func(c Call) { arrived <- c }, Wait: gate})
	return arrived, func() { once.Do(func() { close(gate) }) }
}

// meet counts the call and applies its fault, if any; a non-nil error is
// returned instead of calling the store.
func (f *Faulty) meet(c Call) error {
	f.mu.Lock()
	f.calls[c.Op]++
	fault, ok := f.every[c.Op]
	if q := f.next[c.Op]; len(q) > 0 {
		fault, ok = q[0], true
		f.next[c.Op] = q[1:]
	}
	f.mu.Unlock()
	if !ok {
		return nil
	}
	if fault.Before != nil {
		fault.Before(c)
	}
	if fault.Wait != nil {
		select {
		case <-fault.Wait:
		case <-c.Ctx.Done():
			return c.Ctx.Err()
		}
	}
	return fault.Err
}

// LoadSnapshot implements store.DocLog, meeting OpLoadSnapshot faults.
func (f *Faulty) LoadSnapshot(ctx context.Context, id string) (*editor.Document, error) {
	if err := f.meet(Call{Ctx: ctx, Op: OpLoadSnapshot, ID: id}); err != nil {
		return nil, err
	}
	return f.Store.LoadSnapshot(ctx, id)
}

// PutSnapshot implements store.DocLog, meeting OpPutSnapshot faults.
func (f *Faulty) PutSnapshot(ctx context.Context, doc *editor.Document, keep int) error {
	if err := f.meet(Call{Ctx: ctx, Op: OpPutSnapshot, ID: doc.ID, Seq: doc.Seq}); err != nil {
		return err
	}
	return f.Store.PutSnapshot(ctx, doc, keep)
}

// Head implements store.DocLog, meeting OpHead faults.
func (f *Faulty) Head(ctx context.Context, id string) (int64, error) {
	if err := f.meet(Call{Ctx: ctx, Op: OpHead, ID: id}); err != nil {
		return 0, err
	}
	return f.Store.Head(ctx, id)
}

// LogStart implements store.DocLog, meeting OpLogStart faults.
func (f *Faulty) LogStart(ctx context.Context, id string) (int64, error) {
	if err := f.meet(Call{Ctx: ctx, Op: OpLogStart, ID: id}); err != nil {
		return 0, err
	}
	return f.Store.LogStart(ctx, id)
}

// Append implements store.DocLog, meeting OpAppend faults.
func (f *Faulty) Append(ctx context.Context, id string, expectSeq int64, ups []store.Update) error {
	if err := f.meet(Call{Ctx: ctx, Op: OpAppend, ID: id, Seq: expectSeq}); err != nil {
		return err
	}
	return f.Store.Append(ctx, id, expectSeq, ups)
}

// ReadUpdates implements store.DocLog, meeting OpReadUpdates faults.
func (f *Faulty) ReadUpdates(ctx context.Context, id string, after int64, limit int) ([]store.Update, error) {
	if err := f.meet(Call{Ctx: ctx, Op: OpReadUpdates, ID: id, Seq: after}); err != nil {
		return nil, err
	}
	return f.Store.ReadUpdates(ctx, id, after, limit)
}

// Watch implements store.Notifier through the wrapped store; see Faulty.
func (f *Faulty) Watch(ctx context.Context, id string, fn func(seq int64)) (stop func()) {
	if n, ok := f.Store.(store.Notifier); ok {
		return n.Watch(ctx, id, fn)
	}
	return func() {}
}
