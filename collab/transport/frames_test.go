package transport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/internal/testseed"
	"github.com/gorilla/websocket"
)

// The tests of the frame reader encode client frames themselves, feed
// them to parse the way a connection does (keeping the bytes parse did
// not consume and appending what arrives next) and compare the events.

// frMaskRFC is the masking key of the examples in RFC 6455, 5.7.
var frMaskRFC = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// wireFrame is a client frame for the tests to encode.
type wireFrame struct {
	fin      bool
	rsv      byte // the reserved bits, 0x70 of the first byte
	op       byte
	payload  []byte
	mask     [4]byte
	unmasked bool
	lenBytes int // 0 for the shortest length encoding; 2 or 8 forces the 16- or 64-bit one
}

func (f wireFrame) encode() []byte {
	b0 := f.op | f.rsv
	if f.fin {
		b0 |= 0x80
	}
	var b1 byte
	if !f.unmasked {
		b1 = 0x80
	}
	n := len(f.payload)
	out := make([]byte, 0, 14+n)
	out = append(out, b0)
	switch {
	case f.lenBytes == 8 || f.lenBytes == 0 && n > 0xFFFF:
		out = append(out, b1|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	case f.lenBytes == 2 || f.lenBytes == 0 && n > 125:
		out = append(out, b1|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, b1|byte(n))
	}
	if f.unmasked {
		return append(out, f.payload...)
	}
	out = append(out, f.mask[:]...)
	for i, c := range f.payload {
		out = append(out, c^f.mask[i&3])
	}
	return out
}

// wfin and wfrag encode a final and a non-final frame masked with frMaskRFC.
func wfin(op byte, payload string) []byte {
	return wireFrame{fin: true, op: op, payload: []byte(payload), mask: frMaskRFC}.encode()
}

func wfrag(op byte, payload string) []byte {
	return wireFrame{op: op, payload: []byte(payload), mask: frMaskRFC}.encode()
}

// closePayload is the payload of a close frame with a code and a reason.
func closePayload(code int, reason string) string {
	return string(binary.BigEndian.AppendUint16(nil, uint16(code))) + reason
}

// frPattern is n bytes that are not all alike.
func frPattern(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3 + i/251)
	}
	return string(b)
}

func frCat(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

// frEvent is a frameEvent with its data copied, comparable with ==.
type frEvent struct {
	op      byte
	data    string
	nilData bool
	tooBig  bool
}

func (e frEvent) String() string {
	name := map[byte]string{opText: "text", opBinary: "binary", opClose: "close", opPing: "ping", opPong: "pong"}[e.op]
	if name == "" {
		name = fmt.Sprintf("op%#x", e.op)
	}
	if e.tooBig || e.nilData {
		return fmt.Sprintf("%s(tooBig=%v nil=%v len=%d)", name, e.tooBig, e.nilData, len(e.data))
	}
	d := e.data
	if len(d) > 24 {
		d = d[:24] + "..."
	}
	return fmt.Sprintf("%s[%d]%q", name, len(e.data), d)
}

func frEventOf(e frameEvent) frEvent {
	return frEvent{op: e.op, data: string(e.data), nilData: e.data == nil, tooBig: e.tooBig}
}

// evMsg is a message or control frame as the reader reports it; evBig a
// data message over the soft limit.
func evMsg(op byte, data string) frEvent { return frEvent{op: op, data: data} }
func evBig(op byte) frEvent              { return frEvent{op: op, nilData: true, tooBig: true} }

// feedResult is what a connection made of a stream.
type feedResult struct {
	events   []frEvent
	consumed int // bytes parse consumed in all
	left     int // bytes kept at the end, an incomplete frame
	err      error
}

// feed is the caller a connection is: it appends each chunk to the bytes
// kept from the last call, calls parse, and keeps the bytes parse did not
// consume. When emit returns false (as stop says), parse must stop right
// after that event, and the caller calls it again for the rest. With
// fresh, the bytes kept are moved to a new buffer after each call and the
// old one is overwritten, so a reader that held on to the caller's buffer
// would see garbage.
func feed(t testing.TB, r *frameReader, chunks [][]byte, stop func() bool, fresh bool) feedResult {
	t.Helper()
	var res feedResult
	stopAt := -1
	emit := func(e frameEvent) bool {
		if e.tooBig && e.data != nil {
			t.Errorf("event %d: tooBig with %d bytes of data", len(res.events), len(e.data))
		}
		res.events = append(res.events, frEventOf(e))
		if stop != nil && stop() {
			stopAt = len(res.events) - 1
			return false
		}
		return true
	}
	var pending []byte
	for _, c := range chunks {
		pending = append(pending, c...)
		for {
			stopAt = -1
			in := pending
			n, err := frParse(t, r, in, emit)
			if n < 0 || n > len(in) {
				t.Fatalf("parse consumed %d of %d bytes", n, len(in))
			}
			if stopAt >= 0 && stopAt != len(res.events)-1 {
				t.Fatalf("parse reported %d more events after emit returned false", len(res.events)-1-stopAt)
			}
			res.consumed += n
			pending = in[n:]
			if err != nil {
				res.err = err
				res.left = len(pending)
				return res
			}
			if fresh {
				pending = bytes.Clone(pending)
				for i := range in {
					in[i] = 0xAA
				}
			}
			if stopAt < 0 {
				break
			}
		}
	}
	res.left = len(pending)
	return res
}

// frParse calls parse, failing the test instead of the test binary if it
// panics.
func frParse(t testing.TB, r *frameReader, buf []byte, emit func(frameEvent) bool) (n int, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("parse of %d bytes panicked: %v", len(buf), p)
		}
	}()
	return r.parse(buf, emit)
}

// frCheck returns what is wrong with res, or "" if it has the events of
// want and ends in an error with code (none if code is 0) and, without
// an error, with left bytes kept.
func frCheck(res feedResult, want []frEvent, code, left int) string {
	var problems []string
	if !slices.Equal(res.events, want) {
		i := 0
		for i < len(res.events) && i < len(want) && res.events[i] == want[i] {
			i++
		}
		var got, exp any = "none", "none"
		if i < len(res.events) {
			got = res.events[i]
		}
		if i < len(want) {
			exp = want[i]
		}
		problems = append(problems, fmt.Sprintf("%d events, want %d; the first difference is event %d: got %v, want %v",
			len(res.events), len(want), i, got, exp))
	}
	switch {
	case code == 0 && res.err != nil:
		problems = append(problems, fmt.Sprintf("unexpected error %v", res.err))
	case code == 0 && res.left != left:
		problems = append(problems, fmt.Sprintf("%d bytes left unconsumed, want %d", res.left, left))
	case code != 0:
		var fe *frameError
		if !errors.As(res.err, &fe) {
			problems = append(problems, fmt.Sprintf("error %v, want a *frameError with code %d", res.err, code))
		} else if fe.code != code {
			problems = append(problems, fmt.Sprintf("error %q with code %d, want code %d", fe.msg, fe.code, code))
		}
	}
	return strings.Join(problems, "; ")
}

type frameCase struct {
	name       string
	soft, hard int64 // both 0 (and not zero): 1 MiB
	zero       bool  // soft and hard are 0
	in         []byte
	want       []frEvent
	code       int // the error the stream ends in, 0 for none
	left       int // without an error, the bytes of an incomplete frame at the end
}

func (c frameCase) reader() *frameReader {
	if c.soft == 0 && c.hard == 0 && !c.zero {
		return &frameReader{soft: 1 << 20, hard: 1 << 20}
	}
	return &frameReader{soft: c.soft, hard: c.hard}
}

func frameCases() []frameCase {
	p := frPattern
	big := func(op byte, n int) []byte { return wfin(op, p(n)) }
	cases := []frameCase{
		{name: "text", in: wfin(opText, "hello"), want: []frEvent{evMsg(opText, "hello")}},
		{name: "text RFC example", in: []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, want: []frEvent{evMsg(opText, "Hello")}},
		{name: "binary", in: wfin(opBinary, "\x00\xff\x80\x7f\x01"), want: []frEvent{evMsg(opBinary, "\x00\xff\x80\x7f\x01")}},
		{name: "unmasked with a zero key", in: wireFrame{fin: true, op: opBinary, payload: []byte("abc")}.encode(), want: []frEvent{evMsg(opBinary, "abc")}},
		{name: "empty text", in: wfin(opText, ""), want: []frEvent{evMsg(opText, "")}},
		{name: "empty binary", in: wfin(opBinary, ""), want: []frEvent{evMsg(opBinary, "")}},
		{name: "125 bytes, 7-bit length", in: big(opText, 125), want: []frEvent{evMsg(opText, p(125))}},
		{name: "126 bytes, 16-bit length", in: big(opText, 126), want: []frEvent{evMsg(opText, p(126))}},
		{name: "65535 bytes, 16-bit length", in: big(opBinary, 65535), want: []frEvent{evMsg(opBinary, p(65535))}},
		{name: "65536 bytes, 64-bit length", in: big(opBinary, 65536), want: []frEvent{evMsg(opBinary, p(65536))}},
		{name: "70000 bytes, 64-bit length", in: big(opText, 70000), want: []frEvent{evMsg(opText, p(70000))}},
		// RFC 6455 asks senders for the shortest encoding; like gorilla,
		// the reader accepts the longer ones.
		{name: "5 bytes in a 16-bit length", in: wireFrame{fin: true, op: opText, payload: []byte("abcde"), mask: frMaskRFC, lenBytes: 2}.encode(), want: []frEvent{evMsg(opText, "abcde")}},
		{name: "5 bytes in a 64-bit length", in: wireFrame{fin: true, op: opText, payload: []byte("abcde"), mask: frMaskRFC, lenBytes: 8}.encode(), want: []frEvent{evMsg(opText, "abcde")}},
		{name: "empty in a 64-bit length", in: wireFrame{fin: true, op: opBinary, mask: frMaskRFC, lenBytes: 8}.encode(), want: []frEvent{evMsg(opBinary, "")}},
		{
			name: "messages one after another",
			in:   frCat(wfin(opText, "one"), wfin(opBinary, "two"), wfin(opText, ""), big(opText, 300)),
			want: []frEvent{evMsg(opText, "one"), evMsg(opBinary, "two"), evMsg(opText, ""), evMsg(opText, p(300))},
		},
		{
			name: "fragmented with a ping and a pong between the fragments",
			in: frCat(wfrag(opText, "Hel"), wfin(opPing, "p1"), wfrag(opContinuation, "lo, "),
				wfin(opPong, ""), wfin(opContinuation, "world"), wfin(opText, "next")),
			want: []frEvent{evMsg(opPing, "p1"), evMsg(opPong, ""), evMsg(opText, "Hello, world"), evMsg(opText, "next")},
		},
		{
			name: "fragmented binary with empty fragments",
			in:   frCat(wfrag(opBinary, ""), wfrag(opContinuation, "ab"), wfrag(opContinuation, ""), wfin(opContinuation, "")),
			want: []frEvent{evMsg(opBinary, "ab")},
		},
		{
			name: "fragmented, all fragments empty",
			in:   frCat(wfrag(opText, ""), wfrag(opContinuation, ""), wfin(opContinuation, "")),
			want: []frEvent{evMsg(opText, "")},
		},
		{
			name: "fragmented, large fragments",
			in:   frCat(wfrag(opBinary, p(70000)[:300]), wfin(opPing, ""), wfrag(opContinuation, p(70000)[300:66000]), wfin(opContinuation, p(70000)[66000:])),
			want: []frEvent{evMsg(opPing, ""), evMsg(opBinary, p(70000))},
		},
		{name: "close with a code and a reason", in: wfin(opClose, closePayload(1000, "bye")), want: []frEvent{evMsg(opClose, closePayload(1000, "bye"))}},
		{name: "close with a code", in: wfin(opClose, closePayload(1001, "")), want: []frEvent{evMsg(opClose, closePayload(1001, ""))}},
		{name: "close without a payload", in: wfin(opClose, ""), want: []frEvent{evMsg(opClose, "")}},
		{name: "ping with 125 bytes", in: wfin(opPing, p(125)), want: []frEvent{evMsg(opPing, p(125))}},
		{name: "pong with 125 bytes in a 16-bit length", in: wireFrame{fin: true, op: opPong, payload: []byte(p(125)), mask: frMaskRFC, lenBytes: 2}.encode(), want: []frEvent{evMsg(opPong, p(125))}},
		{
			name: "frames after a close are read",
			in:   frCat(wfin(opClose, closePayload(1000, "")), wfin(opText, "after")),
			want: []frEvent{evMsg(opClose, closePayload(1000, "")), evMsg(opText, "after")},
		},
		{name: "an incomplete header is kept", in: wfin(opText, "hello")[:5], left: 5},
		{name: "an incomplete payload is kept", in: frCat(wfin(opPing, "x"), wfin(opText, "hello")[:9]), want: []frEvent{evMsg(opPing, "x")}, left: 9},
		{name: "an incomplete control frame is kept", in: frCat(wfin(opText, "x"), wfin(opPing, "hello")[:9]), want: []frEvent{evMsg(opText, "x")}, left: 9},

		// Protocol errors.
		{name: "unmasked text", in: wireFrame{fin: true, op: opText, payload: []byte("hi"), unmasked: true}.encode(), code: closeProtocolError},
		{name: "unmasked ping", in: wireFrame{fin: true, op: opPing, unmasked: true}.encode(), code: closeProtocolError},
		{name: "unmasked after a good frame", in: frCat(wfin(opText, "a"), wireFrame{fin: true, op: opText, unmasked: true}.encode()), want: []frEvent{evMsg(opText, "a")}, code: closeProtocolError},
		{name: "fragmented ping", in: wfrag(opPing, "x"), code: closeProtocolError},
		{name: "fragmented close", in: wfrag(opClose, closePayload(1000, "")), code: closeProtocolError},
		{name: "fragmented pong inside a message", in: frCat(wfrag(opText, "a"), wfrag(opPong, "")), code: closeProtocolError},
		{name: "ping with 126 bytes", in: wfin(opPing, p(126)), code: closeProtocolError},
		{name: "close with 126 bytes", in: wfin(opClose, closePayload(1000, p(124))), code: closeProtocolError},
		{name: "pong with 65536 bytes, header only", in: wfin(opPong, p(65536))[:14], code: closeProtocolError},
		{name: "close with one byte", in: wfin(opClose, "\x03"), code: closeProtocolError},
		{name: "continuation without a message", in: wfin(opContinuation, "x"), code: closeProtocolError},
		{name: "non-final continuation without a message", in: wfrag(opContinuation, "x"), code: closeProtocolError},
		{name: "continuation after a whole message", in: frCat(wfin(opText, "a"), wfin(opContinuation, "b")), want: []frEvent{evMsg(opText, "a")}, code: closeProtocolError},
		{name: "text while a message is in progress", in: frCat(wfrag(opText, "a"), wfin(opText, "b")), code: closeProtocolError},
		{name: "binary while a message is in progress", in: frCat(wfrag(opText, "a"), wfin(opPing, "p"), wfrag(opBinary, "b")), want: []frEvent{evMsg(opPing, "p")}, code: closeProtocolError},
		{
			name: "64-bit length with the most significant bit set",
			in:   []byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 'a', 'b', 'c', 'd', 'e'},
			code: closeProtocolError,
		},
		{
			name: "64-bit length of all ones",
			in:   []byte{0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4},
			code: closeProtocolError,
		},

		// Limits.
		{name: "exactly the hard limit", soft: 10, hard: 10, in: big(opText, 10), want: []frEvent{evMsg(opText, p(10))}},
		{name: "over the hard limit", soft: 10, hard: 10, in: big(opText, 11), code: closeTooBig},
		{name: "over the hard limit, header only", soft: 100, hard: 1000, in: big(opBinary, 70000)[:14], code: closeTooBig},
		{name: "huge length over the hard limit", soft: 100, hard: 1000, in: []byte{0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4}, code: closeTooBig},
		{
			name: "over the hard limit in a later fragment",
			soft: 5, hard: 10,
			in:   frCat(wfin(opText, "ok"), wfrag(opText, "12345"), wfin(opPing, "p"), wfrag(opContinuation, "6789"), wfin(opContinuation, "01")),
			want: []frEvent{evMsg(opText, "ok"), evMsg(opPing, "p")},
			code: closeTooBig,
		},
		{
			name: "over the hard limit in a later fragment, without a soft limit",
			soft: 10, hard: 10,
			in:   frCat(wfrag(opText, "12345"), wfrag(opContinuation, "6789"), wfin(opContinuation, "01")),
			code: closeTooBig,
		},
		{
			name: "huge continuation after a fragment",
			soft: 100, hard: 1000,
			in:   frCat(wfrag(opText, "a"), []byte{0x80, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4}),
			code: closeTooBig,
		},
		{name: "exactly the soft limit", soft: 10, hard: 100, in: big(opText, 10), want: []frEvent{evMsg(opText, p(10))}},
		{
			name: "over the soft limit, then the next message",
			soft: 10, hard: 100,
			in:   frCat(big(opText, 11), wfin(opText, "next")),
			want: []frEvent{evBig(opText), evMsg(opText, "next")},
		},
		{
			name: "binary over the soft limit, 16-bit length",
			soft: 10, hard: 1000,
			in:   frCat(big(opBinary, 500), wfin(opPing, "p"), wfin(opBinary, "next")),
			want: []frEvent{evBig(opBinary), evMsg(opPing, "p"), evMsg(opBinary, "next")},
		},
		{
			name: "over the soft limit in a later fragment",
			soft: 10, hard: 100,
			in: frCat(wfrag(opText, "12345"), wfin(opPing, "a"), wfrag(opContinuation, "678901"), wfin(opPong, "b"),
				wfrag(opContinuation, "more"), wfin(opContinuation, "end"), wfin(opText, "next")),
			want: []frEvent{evMsg(opPing, "a"), evMsg(opPong, "b"), evBig(opText), evMsg(opText, "next")},
		},
		{
			name: "over the soft limit in the final fragment",
			soft: 10, hard: 100,
			in:   frCat(wfrag(opBinary, "12345"), wfin(opContinuation, "678901"), wfin(opBinary, "next")),
			want: []frEvent{evBig(opBinary), evMsg(opBinary, "next")},
		},
		{
			name: "over the soft limit, then a zero-length final fragment",
			soft: 10, hard: 100,
			in:   frCat(wfrag(opText, p(20)), wfin(opPing, "p"), wfin(opContinuation, ""), wfin(opText, "next")),
			want: []frEvent{evMsg(opPing, "p"), evBig(opText), evMsg(opText, "next")},
		},
		{
			name: "over the soft limit in a later fragment, then a zero-length final fragment",
			soft: 10, hard: 100,
			in:   frCat(wfrag(opText, "12345"), wfrag(opContinuation, "678901"), wfin(opContinuation, ""), wfin(opText, "next")),
			want: []frEvent{evBig(opText), evMsg(opText, "next")},
		},
		{
			name: "over the soft limit, then empty fragments",
			soft: 10, hard: 100,
			in:   frCat(wfrag(opText, p(11)), wfrag(opContinuation, ""), wfrag(opContinuation, ""), wfin(opContinuation, ""), wfin(opBinary, "")),
			want: []frEvent{evBig(opText), evMsg(opBinary, "")},
		},
		{
			name: "two messages over the soft limit",
			soft: 10, hard: 100,
			in:   frCat(big(opText, 11), wfrag(opBinary, p(30)), wfin(opContinuation, p(30)), wfin(opText, "ok")),
			want: []frEvent{evBig(opText), evBig(opBinary), evMsg(opText, "ok")},
		},
		{
			name: "over the soft limit, then over the hard limit",
			soft: 10, hard: 30,
			in:   frCat(wfrag(opText, p(20)), wfin(opPing, "p"), wfin(opContinuation, p(11))),
			want: []frEvent{evMsg(opPing, "p")},
			code: closeTooBig,
		},
		{
			name: "over the soft limit, then a protocol error",
			soft: 10, hard: 100,
			in:   frCat(wfrag(opText, p(20)), wfin(opText, "x")),
			code: closeProtocolError,
		},
		{
			name: "soft limit 0",
			soft: 0, hard: 100,
			in:   frCat(wfin(opText, ""), wfin(opText, "x"), wfrag(opBinary, ""), wfin(opContinuation, "")),
			want: []frEvent{evMsg(opText, ""), evBig(opText), evMsg(opBinary, "")},
		},
		{name: "hard limit 0", zero: true, in: frCat(wfin(opText, ""), wfin(opPing, "p"), wfin(opText, "x")), want: []frEvent{evMsg(opText, ""), evMsg(opPing, "p")}, code: closeTooBig},
		{name: "an incomplete skipped payload is consumed", soft: 10, hard: 100, in: big(opText, 50)[:30], left: 0},
	}
	for rsv := byte(0x10); rsv <= 0x40; rsv <<= 1 {
		cases = append(cases,
			frameCase{name: fmt.Sprintf("reserved bit %#x", rsv), in: wireFrame{fin: true, rsv: rsv, op: opText, payload: []byte("x"), mask: frMaskRFC}.encode(), code: closeProtocolError},
			frameCase{name: fmt.Sprintf("reserved bit %#x on a ping", rsv), in: wireFrame{fin: true, rsv: rsv, op: opPing, mask: frMaskRFC}.encode(), code: closeProtocolError})
	}
	for _, op := range []byte{0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF} {
		cases = append(cases,
			frameCase{name: fmt.Sprintf("opcode %#x", op), in: wfin(op, ""), code: closeProtocolError},
			frameCase{name: fmt.Sprintf("opcode %#x inside a message", op), in: frCat(wfrag(opBinary, "a"), wfin(op, "b"), wfin(opContinuation, "c")), code: closeProtocolError})
	}
	return cases
}

// TestFrameReaderTable feeds each case whole.
func TestFrameReaderTable(t *testing.T) {
	for _, c := range frameCases() {
		t.Run(c.name, func(t *testing.T) {
			res := feed(t, c.reader(), [][]byte{c.in}, nil, false)
			if p := frCheck(res, c.want, c.code, c.left); p != "" {
				t.Error(p)
			}
		})
	}
}

// frSplits is where TestFrameReaderSplit splits an input of n bytes: everywhere
// in a small one, near the ends and at a stride in a large one.
func frSplits(n int) []int {
	if n <= 1000 {
		s := make([]int, n+1)
		for i := range s {
			s[i] = i
		}
		return s
	}
	var s []int
	for i := 0; i <= n; i++ {
		if i <= 40 || i >= n-40 || i%(n/97) == 0 {
			s = append(s, i)
		}
	}
	return s
}

// TestFrameReaderSplit feeds each case in two pieces, split everywhere, and
// a byte at a time: the events and the error must not change.
func TestFrameReaderSplit(t *testing.T) {
	for _, c := range frameCases() {
		t.Run(c.name, func(t *testing.T) {
			for _, i := range frSplits(len(c.in)) {
				res := feed(t, c.reader(), [][]byte{c.in[:i], c.in[i:]}, nil, true)
				if p := frCheck(res, c.want, c.code, c.left); p != "" {
					t.Fatalf("split after byte %d of %d: %s", i, len(c.in), p)
				}
			}
			if len(c.in) > 5000 {
				return
			}
			var chunks [][]byte
			for i := range c.in {
				chunks = append(chunks, c.in[i:i+1])
			}
			res := feed(t, c.reader(), chunks, nil, true)
			if p := frCheck(res, c.want, c.code, c.left); p != "" {
				t.Fatalf("a byte at a time: %s", p)
			}
		})
	}
}

// TestFrameReaderInPlace checks that parse unmasks payloads in place and
// leaves the bytes of an incomplete frame alone.
func TestFrameReaderInPlace(t *testing.T) {
	whole := frCat(wfin(opText, "hello"), wfin(opText, "world"))
	buf := bytes.Clone(whole[:len(whole)-2])
	r := frameReader{soft: 100, hard: 100}
	var data []byte
	n, err := r.parse(buf, func(e frameEvent) bool { data = e.data; return true })
	if err != nil || n != 11 {
		t.Fatalf("parse = %d, %v; want 11, nil", n, err)
	}
	if string(buf[6:11]) != "hello" || &data[0] != &buf[6] {
		t.Errorf("the payload was not unmasked in place: buffer % x", buf[:11])
	}
	if !bytes.Equal(buf[11:], whole[11:len(whole)-2]) {
		t.Errorf("the incomplete frame changed: % x, was % x", buf[11:], whole[11:len(whole)-2])
	}
}

// TestFrameReaderEmitFalse checks that parse stops after the event for
// which emit returns false, having consumed exactly its frame.
func TestFrameReaderEmitFalse(t *testing.T) {
	frames := [][]byte{
		wfin(opPing, "p"),
		wfin(opText, "one"),
		frCat(wfrag(opText, frPattern(20)), wfin(opContinuation, "")),
		wfin(opPong, ""),
		frCat(wfrag(opBinary, "ab"), wfin(opContinuation, "cd")),
		wfin(opBinary, frPattern(30)),
		wfin(opClose, closePayload(1000, "x")),
		wfin(opText, ""),
	}
	want := []frEvent{
		evMsg(opPing, "p"), evMsg(opText, "one"), evBig(opText), evMsg(opPong, ""),
		evMsg(opBinary, "abcd"), evBig(opBinary), evMsg(opClose, closePayload(1000, "x")), evMsg(opText, ""),
	}
	buf := frCat(frames...)
	r := frameReader{soft: 10, hard: 100}
	off := 0
	for i, f := range frames {
		var got []frEvent
		n, err := r.parse(buf[off:], func(e frameEvent) bool {
			got = append(got, frEventOf(e))
			return false
		})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if len(got) != 1 || got[0] != want[i] {
			t.Fatalf("call %d: events %v, want [%v]", i, got, want[i])
		}
		if n != len(f) {
			t.Fatalf("call %d: consumed %d bytes, want %d", i, n, len(f))
		}
		off += n
	}
	n, err := r.parse(buf[off:], func(e frameEvent) bool { t.Errorf("event %v at the end", frEventOf(e)); return true })
	if n != 0 || err != nil {
		t.Errorf("parse at the end = %d, %v", n, err)
	}
}

func TestParseFrameHeader(t *testing.T) {
	mask := [4]byte{1, 2, 3, 4}
	for _, c := range []struct {
		f      wireFrame
		length int64
		size   int
	}{
		{wireFrame{fin: true, op: opText, payload: []byte("abc"), mask: mask}, 3, 6},
		{wireFrame{op: opBinary, mask: mask}, 0, 6},
		{wireFrame{op: opContinuation, payload: make([]byte, 125), mask: mask}, 125, 6},
		{wireFrame{fin: true, op: opPing, payload: make([]byte, 126), mask: mask}, 126, 8},
		{wireFrame{fin: true, op: opClose, payload: make([]byte, 65535), mask: mask}, 65535, 8},
		{wireFrame{op: opBinary, payload: make([]byte, 65536), mask: mask}, 65536, 14},
		{wireFrame{fin: true, op: 0xB, payload: make([]byte, 3), mask: mask, lenBytes: 8}, 3, 14},
	} {
		enc := c.f.encode()
		for k := range c.size {
			if h, ok, err := parseFrameHeader(enc[:k]); ok || err != nil {
				t.Errorf("%d of the %d header bytes of op %#x: %+v, %v, %v; want not ok, no error", k, c.size, c.f.op, h, ok, err)
			}
		}
		for _, b := range [][]byte{enc[:c.size], enc} {
			h, ok, err := parseFrameHeader(b)
			want := frameHeader{fin: c.f.fin, op: c.f.op, length: c.length, mask: mask, size: c.size}
			if !ok || err != nil || h != want {
				t.Errorf("header of op %#x, %d bytes: %+v, %v, %v; want %+v", c.f.op, len(c.f.payload), h, ok, err, want)
			}
		}
	}
	largest := []byte{0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 9, 8, 7, 6}
	if h, ok, err := parseFrameHeader(largest); !ok || err != nil || h.length != 1<<63-1 || h.size != 14 || h.mask != [4]byte{9, 8, 7, 6} {
		t.Errorf("largest length: %+v, %v, %v", h, ok, err)
	}
	for _, c := range []struct {
		name string
		in   []byte
	}{
		{"rsv1", []byte{0xC1, 0x80}},
		{"rsv2", []byte{0xA1, 0x80}},
		{"rsv3", []byte{0x91, 0x80}},
		{"unmasked", []byte{0x81, 0x05}},
		{"unmasked, 16-bit length", []byte{0x82, 0x7E}},
		{"length with the top bit", []byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0}},
	} {
		_, ok, err := parseFrameHeader(c.in)
		var fe *frameError
		if ok || !errors.As(err, &fe) || fe.code != closeProtocolError {
			t.Errorf("%s: ok %v, error %v; want a protocol error", c.name, ok, err)
		}
	}
}

func TestUnmask(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for off := range 8 {
		for n := range 80 {
			var key [4]byte
			binary.LittleEndian.PutUint32(key[:], rng.Uint32())
			orig := make([]byte, off+n+8)
			for i := range orig {
				orig[i] = byte(rng.Uint32())
			}
			b := bytes.Clone(orig)
			unmask(b[off:off+n], key)
			for i := range b {
				want := orig[i]
				if i >= off && i < off+n {
					want ^= key[(i-off)%4]
				}
				if b[i] != want {
					t.Fatalf("offset %d, %d bytes, key % x: byte %d is %#x, want %#x", off, n, key, i, b[i], want)
				}
			}
			unmask(b[off:off+n], key)
			if !bytes.Equal(b, orig) {
				t.Fatalf("offset %d, %d bytes: unmasking twice does not restore the bytes", off, n)
			}
		}
	}
}

// streamGen makes a random stream of client frames and the events it
// must give.
type streamGen struct {
	rng        *rand.Rand
	soft, hard int64
	out        []byte
	want       []frEvent
	code       int // the error the stream ends in, 0 for none
}

func (g *streamGen) mask() (m [4]byte) {
	binary.LittleEndian.PutUint32(m[:], g.rng.Uint32())
	return m
}

func (g *streamGen) put(fin bool, op byte, p []byte) {
	f := wireFrame{fin: fin, op: op, payload: p, mask: g.mask()}
	switch g.rng.IntN(8) {
	case 0:
		if len(p) <= 0xFFFF {
			f.lenBytes = 2
		}
	case 1:
		f.lenBytes = 8
	}
	g.out = append(g.out, f.encode()...)
}

func (g *streamGen) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return b
}

func (g *streamGen) size() int {
	switch r := g.rng.IntN(100); {
	case r < 10:
		return 0
	case r < 50:
		return 1 + g.rng.IntN(20)
	case r < 80:
		return g.rng.IntN(300)
	case r < 97:
		return g.rng.IntN(5000)
	default:
		return g.rng.IntN(70001)
	}
}

func (g *streamGen) control() {
	var op byte
	var p []byte
	switch g.rng.IntN(5) {
	case 0, 1, 2:
		op = opPing
		if g.rng.IntN(2) == 0 {
			op = opPong
		}
		switch g.rng.IntN(4) {
		case 0:
			p = []byte{}
		case 1:
			p = g.bytes(125)
		default:
			p = g.bytes(g.rng.IntN(126))
		}
	default:
		op = opClose
		p = []byte{}
		if g.rng.IntN(3) != 0 {
			p = []byte(closePayload(1000+g.rng.IntN(4000), string(g.bytes(g.rng.IntN(124)))))
		}
	}
	g.put(true, op, p)
	g.want = append(g.want, evMsg(op, string(p)))
}

// message adds a data message of n bytes in random fragments with control
// frames between them. It reports false if the message goes over the
// hard limit, which ends the stream.
func (g *streamGen) message(n int) bool {
	op := byte(opText)
	if g.rng.IntN(2) == 0 {
		op = opBinary
	}
	p := g.bytes(n)
	k := 1
	if g.rng.IntN(2) == 0 {
		k = 2 + g.rng.IntN(5)
	}
	cuts := []int{0, n}
	for range k - 1 {
		cuts = append(cuts, g.rng.IntN(n+1))
	}
	slices.Sort(cuts)
	var total int64
	for i := range k {
		if i > 0 {
			for g.rng.IntN(3) == 0 {
				g.control()
			}
		}
		fop := byte(opContinuation)
		if i == 0 {
			fop = op
		}
		part := p[cuts[i]:cuts[i+1]]
		g.put(i == k-1, fop, part)
		total += int64(len(part))
		if total > g.hard {
			g.code = closeTooBig
			return false
		}
	}
	if int64(n) > g.soft {
		g.want = append(g.want, evBig(op))
	} else {
		g.want = append(g.want, evMsg(op, string(p)))
	}
	return true
}

// violation adds a frame that breaks the protocol, and garbage after it.
func (g *streamGen) violation() {
	m := g.mask()
	switch g.rng.IntN(10) {
	case 0:
		g.out = append(g.out, wireFrame{fin: true, op: opText, payload: g.bytes(g.rng.IntN(10)), unmasked: true}.encode()...)
	case 1:
		g.out = append(g.out, wireFrame{fin: g.rng.IntN(2) == 0, rsv: 0x10 << g.rng.IntN(3), op: opBinary, payload: g.bytes(3), mask: m}.encode()...)
	case 2:
		ops := []byte{0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}
		g.out = append(g.out, wireFrame{fin: true, op: ops[g.rng.IntN(len(ops))], payload: g.bytes(2), mask: m}.encode()...)
	case 3:
		ops := []byte{opPing, opPong, opClose}
		g.out = append(g.out, wireFrame{op: ops[g.rng.IntN(len(ops))], payload: g.bytes(2), mask: m}.encode()...)
	case 4:
		ops := []byte{opPing, opPong, opClose}
		g.out = append(g.out, wireFrame{fin: true, op: ops[g.rng.IntN(len(ops))], payload: g.bytes(126 + g.rng.IntN(200)), mask: m}.encode()...)
	case 5:
		g.out = append(g.out, wireFrame{fin: true, op: opClose, payload: g.bytes(1), mask: m}.encode()...)
	case 6:
		g.out = append(g.out, wireFrame{fin: g.rng.IntN(2) == 0, op: opContinuation, payload: g.bytes(4), mask: m}.encode()...)
	case 7:
		g.put(false, opText, g.bytes(g.rng.IntN(int(min(g.hard, 50))+1)))
		for g.rng.IntN(2) == 0 {
			g.control()
		}
		g.out = append(g.out, wireFrame{fin: g.rng.IntN(2) == 0, op: opText + byte(g.rng.IntN(2)), payload: g.bytes(4), mask: m}.encode()...)
	default:
		h := []byte{0x82, 0xFF}
		h = binary.BigEndian.AppendUint64(h, 1<<63|g.rng.Uint64())
		g.out = append(g.out, h...)
		g.out = append(g.out, m[:]...)
	}
	g.code = closeProtocolError
	g.out = append(g.out, g.bytes(g.rng.IntN(20))...)
}

func genStream(rng *rand.Rand, soft, hard int64) *streamGen {
	g := &streamGen{rng: rng, soft: soft, hard: hard}
	for range 1 + rng.IntN(12) {
		if rng.IntN(4) == 0 {
			g.control()
		} else if !g.message(g.size()) {
			return g
		}
	}
	switch rng.IntN(8) {
	case 0, 1:
		g.violation()
	case 2:
		if hard < 1<<20 {
			g.message(int(hard) + 1 + rng.IntN(100))
		}
	}
	return g
}

// randomChunks cuts a stream into the pieces a connection might read.
func randomChunks(rng *rand.Rand, b []byte) [][]byte {
	mode := rng.IntN(4)
	if mode == 0 && len(b) > 8192 {
		mode = 1
	}
	var chunks [][]byte
	for len(b) > 0 {
		if rng.IntN(20) == 0 {
			chunks = append(chunks, nil)
		}
		var k int
		switch mode {
		case 0:
			k = 1 + rng.IntN(8)
		case 1:
			k = 1 + rng.IntN([]int{16, 200, 3000, 70000}[rng.IntN(4)])
		case 2:
			k = 1 + rng.IntN(len(b))
		default:
			k = 1 + rng.IntN([]int{3, 14, 1500}[rng.IntN(3)])
		}
		k = min(k, len(b))
		chunks = append(chunks, b[:k])
		b = b[k:]
	}
	return chunks
}

// TestFrameReaderChunking checks, for random streams, that the events are
// the same whatever pieces the stream arrives in, and whether or not emit
// makes parse stop after an event.
func TestFrameReaderChunking(t *testing.T) {
	seed := testseed.Seed(t)
	iterations := 2000
	if testing.Short() {
		iterations = 200
	}
	limits := []int64{0, 1, 100, 1000, 30000, 1 << 20}
	for it := range iterations {
		rng := rand.New(rand.NewPCG(seed, uint64(it)))
		soft := limits[rng.IntN(len(limits))]
		hard := []int64{soft, soft + int64(rng.IntN(2000)), 1 << 30}[rng.IntN(3)]
		g := genStream(rng, soft, hard)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d iteration %d (soft %d, hard %d, %d bytes): %s", seed, it, soft, hard, len(g.out), fmt.Sprintf(format, args...))
		}
		whole := feed(t, &frameReader{soft: soft, hard: hard}, [][]byte{g.out}, nil, false)
		if p := frCheck(whole, g.want, g.code, 0); p != "" {
			fail("fed whole: %s", p)
		}
		chunks := randomChunks(rng, g.out)
		var stop func() bool
		if rng.IntN(3) == 0 {
			stop = func() bool { return rng.IntN(2) == 0 }
		}
		fresh := len(g.out) < 20000 && rng.IntN(2) == 0
		res := feed(t, &frameReader{soft: soft, hard: hard}, chunks, stop, fresh)
		if p := frCheck(res, whole.events, g.code, 0); p != "" {
			sizes := make([]int, 0, 20)
			for _, c := range chunks[:min(len(chunks), 20)] {
				sizes = append(sizes, len(c))
			}
			fail("in %d chunks (the first of %v bytes), stopping %v, fresh buffers %v: %s", len(chunks), sizes, stop != nil, fresh, p)
		}
	}
}

// gorillaOp is a step of a gorilla client: 'm' WriteMessage, 'c'
// WriteControl, 'b' NextWriter, 'w' a Write to it, 'e' its Close.
type gorillaOp struct {
	kind byte
	typ  int
	data []byte
}

func runGorillaOps(ws *websocket.Conn, ops []gorillaOp) error {
	var w io.WriteCloser
	for i, o := range ops {
		var err error
		switch o.kind {
		case 'm':
			err = ws.WriteMessage(o.typ, o.data)
		case 'c':
			err = ws.WriteControl(o.typ, o.data, time.Time{})
		case 'b':
			w, err = ws.NextWriter(o.typ)
		case 'w':
			_, err = w.Write(o.data)
		case 'e':
			err = w.Close()
		}
		if err != nil {
			return fmt.Errorf("step %d (%c): %w", i, o.kind, err)
		}
	}
	return nil
}

// gorillaScript makes n random steps for a gorilla client, ending with a
// close frame, and the events they must give.
func gorillaScript(rng *rand.Rand, n int, soft int64) (ops []gorillaOp, want []frEvent) {
	payload := func(text bool, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			if text {
				b[i] = byte(' ' + rng.IntN(95))
			} else {
				b[i] = byte(rng.Uint32())
			}
		}
		return b
	}
	control := func() {
		typ := websocket.PingMessage
		if rng.IntN(2) == 0 {
			typ = websocket.PongMessage
		}
		p := payload(false, []int{0, 125, rng.IntN(126)}[rng.IntN(3)])
		ops = append(ops, gorillaOp{kind: 'c', typ: typ, data: p})
		want = append(want, evMsg(byte(typ), string(p)))
	}
	message := func(typ int, p []byte) frEvent {
		if int64(len(p)) > soft {
			return evBig(byte(typ))
		}
		return evMsg(byte(typ), string(p))
	}
	// First a message with a ping that a write buffer under 5000 bytes
	// puts between its fragments.
	first := payload(false, 10000)
	ops = append(ops, gorillaOp{kind: 'b', typ: websocket.BinaryMessage}, gorillaOp{kind: 'w', data: first[:5000]},
		gorillaOp{kind: 'c', typ: websocket.PingMessage, data: []byte("between")},
		gorillaOp{kind: 'w', data: first[5000:]}, gorillaOp{kind: 'e'})
	want = append(want, evMsg(opPing, "between"), message(websocket.BinaryMessage, first))
	for range n {
		typ := websocket.TextMessage
		if rng.IntN(2) == 0 {
			typ = websocket.BinaryMessage
		}
		p := payload(typ == websocket.TextMessage, rng.IntN([]int{126, 1000, 20000, 70001}[rng.IntN(4)]))
		switch rng.IntN(6) {
		case 0:
			control()
		case 1, 2:
			ops = append(ops, gorillaOp{kind: 'm', typ: typ, data: p})
			want = append(want, message(typ, p))
		default:
			// Written in parts, with control frames between them.
			ops = append(ops, gorillaOp{kind: 'b', typ: typ})
			for rest := p; ; {
				k := min(len(rest), rng.IntN(len(p)+1))
				ops = append(ops, gorillaOp{kind: 'w', data: rest[:k]})
				rest = rest[k:]
				if len(rest) == 0 {
					break
				}
				for rng.IntN(2) == 0 {
					control()
				}
			}
			ops = append(ops, gorillaOp{kind: 'e'})
			want = append(want, message(typ, p))
		}
	}
	cp := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "done")
	ops = append(ops, gorillaOp{kind: 'c', typ: websocket.CloseMessage, data: cp})
	want = append(want, evMsg(opClose, string(cp)))
	return ops, want
}

// gorillaPipe connects a gorilla client with the given write buffer size
// to the other end of a pipe, answering its handshake. The client's frames
// are read from the returned reader, after the handshake.
func gorillaPipe(t *testing.T, writeBufferSize int) (*websocket.Conn, net.Conn, *bufio.Reader) {
	t.Helper()
	cli, srv := net.Pipe()
	var br *bufio.Reader
	handshake := make(chan error, 1)
	go func() {
		br = bufio.NewReader(srv)
		req, err := http.ReadRequest(br)
		if err != nil {
			srv.Close()
			handshake <- err
			return
		}
		sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		_, err = io.WriteString(srv, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Accept: "+base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n")
		handshake <- err
	}()
	d := websocket.Dialer{
		NetDialContext:   func(context.Context, string, string) (net.Conn, error) { return cli, nil },
		WriteBufferSize:  writeBufferSize,
		HandshakeTimeout: 10 * time.Second,
	}
	ws, _, err := d.Dial("ws://collab.test/", nil)
	if err != nil {
		cli.Close()
		srv.Close()
		<-handshake
		t.Fatalf("dial: %v", err)
	}
	if err := <-handshake; err != nil {
		ws.Close()
		srv.Close()
		t.Fatalf("handshake: %v", err)
	}
	return ws, srv, br
}

// TestFrameReaderGorilla has gorilla's client write random messages and
// control frames and checks that the reader gets them all back.
func TestFrameReaderGorilla(t *testing.T) {
	seed := testseed.Seed(t)
	for i, c := range []struct {
		writeBuffer int
		soft, hard  int64
		steps       int
	}{
		{writeBuffer: 128, soft: 1 << 20, hard: 1 << 20, steps: 40},
		{writeBuffer: 1000, soft: 1 << 20, hard: 1 << 20, steps: 40},
		{writeBuffer: 4096, soft: 30000, hard: 1 << 20, steps: 40},
		{writeBuffer: 100000, soft: 1000, hard: 70000, steps: 40},
	} {
		t.Run(fmt.Sprintf("wbuf=%d,soft=%d", c.writeBuffer, c.soft), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			ops, want := gorillaScript(rng, c.steps, c.soft)

			ws, srv, br := gorillaPipe(t, c.writeBuffer)
			var wg sync.WaitGroup
			var werr error
			wg.Go(func() {
				werr = runGorillaOps(ws, ops)
				ws.Close()
			})
			defer func() {
				srv.Close()
				wg.Wait()
			}()

			r := frameReader{soft: c.soft, hard: c.hard}
			var got []frEvent
			emit := func(e frameEvent) bool {
				got = append(got, frEventOf(e))
				return true
			}
			var pending, raw []byte
			buf := make([]byte, 1<<16)
			for {
				k := 1 + rng.IntN([]int{16, 500, 1 << 16}[rng.IntN(3)])
				n, rerr := br.Read(buf[:k])
				raw = append(raw, buf[:n]...)
				pending = append(pending, buf[:n]...)
				m, err := frParse(t, &r, pending, emit)
				if m < 0 || m > len(pending) {
					t.Fatalf("parse consumed %d of %d bytes", m, len(pending))
				}
				pending = pending[m:]
				if err != nil {
					t.Fatalf("seed %d: parse after %d events: %v", seed, len(got), err)
				}
				if rerr == io.EOF {
					break
				}
				if rerr != nil {
					t.Fatalf("read: %v", rerr)
				}
			}
			srv.Close()
			wg.Wait()
			if werr != nil {
				t.Fatalf("gorilla: %v", werr)
			}
			res := feedResult{events: got, left: len(pending)}
			if p := frCheck(res, want, 0, 0); p != "" {
				t.Errorf("seed %d: %s", seed, p)
			}

			// Make sure gorilla did fragment messages and wrote control
			// frames between fragments (it must with the first message).
			frames, continuations, between := 0, 0, 0
			inMessage := false
			for off := 0; off < len(raw); frames++ {
				h, ok, err := parseFrameHeader(raw[off:])
				if !ok || err != nil {
					t.Fatalf("frame %d at byte %d of %d: %v", frames, off, len(raw), err)
				}
				switch {
				case h.op == opContinuation:
					continuations++
				case h.op >= opClose && inMessage:
					between++
				}
				if h.op < opClose {
					inMessage = !h.fin
				}
				off += h.size + int(h.length)
			}
			t.Logf("%d bytes in %d frames, %d of them continuations, %d control frames inside messages", len(raw), frames, continuations, between)
			if c.writeBuffer < 5000 && (continuations == 0 || between == 0) {
				t.Errorf("%d continuation frames and %d control frames inside messages: the test did not test them", continuations, between)
			}
		})
	}
}

// FuzzFrameReader checks that any bytes, fed whole or in two pieces, give
// the same events and the same error, and that parse never consumes more
// than it has.
func FuzzFrameReader(f *testing.F) {
	for i, c := range frameCases() {
		if len(c.in) <= 4096 {
			f.Add(c.in, uint(i*7), uint16(min(c.soft, 1<<16-1)), uint16(min(c.hard, 1<<16-1)))
		}
	}
	for i := range 20 {
		rng := rand.New(rand.NewPCG(7, uint64(i)))
		g := genStream(rng, 100, 3000)
		if len(g.out) <= 4096 {
			f.Add(g.out, uint(rng.IntN(len(g.out)+1)), uint16(100), uint16(3000))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint, soft, hard uint16) {
		at := int(split % uint(len(data)+1))
		whole := feed(t, &frameReader{soft: int64(soft), hard: int64(hard)}, [][]byte{data}, nil, false)
		two := feed(t, &frameReader{soft: int64(soft), hard: int64(hard)}, [][]byte{data[:at], data[at:]}, nil, true)
		if !slices.Equal(whole.events, two.events) {
			t.Fatalf("split at %d: events %v, fed whole %v", at, two.events, whole.events)
		}
		if (whole.err == nil) != (two.err == nil) {
			t.Fatalf("split at %d: error %v, fed whole %v", at, two.err, whole.err)
		}
		if whole.err == nil {
			if whole.consumed != two.consumed {
				t.Fatalf("split at %d: consumed %d bytes, fed whole %d", at, two.consumed, whole.consumed)
			}
			return
		}
		var fw, f2 *frameError
		if !errors.As(whole.err, &fw) || !errors.As(two.err, &f2) {
			t.Fatalf("errors %v and %v are not *frameError", whole.err, two.err)
		}
		if fw.code != f2.code || (fw.code != closeProtocolError && fw.code != closeTooBig) {
			t.Fatalf("split at %d: error code %d, fed whole %d", at, f2.code, fw.code)
		}
	})
}

func BenchmarkFrameParse(b *testing.B) {
	frame := wireFrame{fin: true, op: opText, payload: []byte(strings.Repeat("typical edit ", 16)[:200]), mask: frMaskRFC}.encode()
	r := frameReader{soft: 1 << 20, hard: 1 << 20}
	events := 0
	emit := func(frameEvent) bool { events++; return true }
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if n, err := r.parse(frame, emit); n != len(frame) || err != nil {
			b.Fatalf("parse = %d, %v", n, err)
		}
	}
	if events == 0 {
		b.Fatal("no events")
	}
}

func BenchmarkUnmask(b *testing.B) {
	buf := make([]byte, 64<<10)
	key := [4]byte{1, 2, 3, 4}
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		unmask(buf, key)
	}
}
