package transport

import (
	"encoding/binary"
	"fmt"
)

// Reading the frames a client sends (RFC 6455, section 5) from whatever
// bytes have arrived, without blocking. gorilla/websocket does the
// handshake and all writing; reading is done here because its reader can
// only wait for the next message inside a blocking read, and a connection
// blocked in a read is a goroutine with a stack for every idle viewer.
// With this reader a connection holds only the bytes of an incomplete
// frame, usually none, and reads when the poller says there is something
// to read.

// Websocket opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Close codes the reader ends a connection with (RFC 6455, 7.4.1).
const (
	closeProtocolError = 1002
	closeTooBig        = 1009
)

// frameEvent is one whole data message or one control frame.
type frameEvent struct {
	op byte // opText, opBinary, opClose, opPing or opPong
	// data is the payload, unmasked. It may point into the buffer given
	// to parse and is valid only during the callback. For a data message
	// over the soft limit it is nil and tooBig is set: the payload was
	// skipped without being kept.
	data   []byte
	tooBig bool
}

// frameError is a protocol violation: the connection is closed with code.
type frameError struct {
	code int
	msg  string
}

func (e *frameError) Error() string { return e.msg }

func protocolErrorf(format string, args ...any) *frameError {
	return &frameError{code: closeProtocolError, msg: fmt.Sprintf(format, args...)}
}

// frameReader assembles messages from a client's frames. Messages longer
// than soft are skipped (reported with tooBig) without being buffered;
// longer than hard, the connection is closed.
type frameReader struct {
	soft, hard int64

	msg    []byte // the fragments so far of a fragmented message
	msgOp  byte   // opText or opBinary while a message is in progress, else 0
	msgLen int64  // the message's length so far, also when it is skipped
	over   bool   // the message in progress is over the soft limit

	skip    int64 // payload bytes of the current frame still to skip
	skipFin bool  // the frame being skipped ends its message
}

// parse reads every whole frame at the start of buf, calling emit for
// each data message completed and each control frame, and returns how
// many bytes it used. The bytes after that are an incomplete frame: the
// caller keeps them and calls parse again with more appended. Payloads are
// unmasked in place. If emit returns false, parse stops after that frame.
func (r *frameReader) parse(buf []byte, emit func(frameEvent) bool) (int, error) {
	off := 0
	for {
		if r.skip > 0 {
			n := int64(len(buf) - off)
			if n > r.skip {
				n = r.skip
			}
			off += int(n)
			r.skip -= n
			if r.skip > 0 {
				return off, nil
			}
			if r.skipFin && !r.endSkipped(emit) {
				return off, nil
			}
			continue
		}
		h, ok, err := parseFrameHeader(buf[off:])
		if err != nil {
			return off, err
		}
		if !ok {
			return off, nil
		}
		switch h.op {
		case opClose, opPing, opPong:
			if !h.fin {
				return off, protocolErrorf("fragmented control frame")
			}
			if h.length > 125 {
				return off, protocolErrorf("control frame with %d bytes of payload (at most 125)", h.length)
			}
			payload, whole := h.payload(buf[off:])
			if !whole {
				return off, nil
			}
			off += h.size + len(payload)
			if h.op == opClose && len(payload) == 1 {
				return off, protocolErrorf("close frame with a one-byte payload")
			}
			if !emit(frameEvent{op: h.op, data: payload}) {
				return off, nil
			}
			continue
		case opContinuation, opText, opBinary:
		default:
			return off, protocolErrorf("unknown opcode %#x", h.op)
		}

		// A data frame. The reader's state changes only once the frame is
		// taken: whole, or its header when its payload is to be skipped.
		msgOp := r.msgOp
		if h.op == opContinuation {
			if msgOp == 0 {
				return off, protocolErrorf("continuation frame without a message to continue")
			}
		} else {
			if msgOp != 0 {
				return off, protocolErrorf("a new message began before the last one ended")
			}
			msgOp = h.op
		}
		if h.length > r.hard-r.msgLen {
			return off, &frameError{code: closeTooBig, msg: fmt.Sprintf("message of more than %d bytes", r.hard)}
		}
		msgLen := r.msgLen + h.length
		if r.over || msgLen > r.soft {
			// Skip the payload as it arrives; nothing is kept.
			r.msgOp, r.msgLen, r.over, r.msg = msgOp, msgLen, true, nil
			off += h.size
			r.skip, r.skipFin = h.length, h.fin
			if r.skip == 0 && r.skipFin && !r.endSkipped(emit) {
				return off, nil
			}
			continue
		}
		payload, whole := h.payload(buf[off:])
		if !whole {
			return off, nil
		}
		off += h.size + len(payload)
		r.msgOp, r.msgLen = msgOp, msgLen
		if !h.fin {
			r.msg = append(r.msg, payload...)
			continue
		}
		ev := frameEvent{op: r.msgOp, data: payload}
		if r.msg != nil {
			ev.data = append(r.msg, payload...)
		}
		r.msg, r.msgOp, r.msgLen = nil, 0, 0
		if !emit(ev) {
			return off, nil
		}
	}
}

// endSkipped reports the end of a message that was over the soft limit.
func (r *frameReader) endSkipped(emit func(frameEvent) bool) bool {
	op := r.msgOp
	r.msg, r.msgOp, r.msgLen, r.over, r.skipFin = nil, 0, 0, false, false
	return emit(frameEvent{op: op, tooBig: true})
}

// frameHeader is a parsed frame header; size is its length in bytes.
type frameHeader struct {
	fin    bool
	op     byte
	length int64
	mask   [4]byte
	size   int
}

// payload returns the frame's payload, unmasked in place, when b (which
// starts with the frame) holds all of it.
func (h frameHeader) payload(b []byte) ([]byte, bool) {
	end := h.size + int(h.length)
	if len(b) < end {
		return nil, false
	}
	p := b[h.size:end]
	unmask(p, h.mask)
	return p, true
}

// parseFrameHeader parses the header at the start of b; ok is false when
// b does not hold all of it yet. Client frames must be masked and must not
// set the reserved bits (no extension is negotiated).
func parseFrameHeader(b []byte) (h frameHeader, ok bool, err error) {
	if len(b) < 2 {
		return h, false, nil
	}
	h.fin = b[0]&0x80 != 0
	if b[0]&0x70 != 0 {
		return h, false, protocolErrorf("reserved bits set in a frame header")
	}
	h.op = b[0] & 0x0F
	if b[1]&0x80 == 0 {
		return h, false, protocolErrorf("a client frame that is not masked")
	}
	h.size = 2
	switch n := b[1] & 0x7F; n {
	case 126:
		if len(b) < 4 {
			return h, false, nil
		}
		h.length = int64(binary.BigEndian.Uint16(b[2:4]))
		h.size = 4
	case 127:
		if len(b) < 10 {
			return h, false, nil
		}
		v := binary.BigEndian.Uint64(b[2:10])
		if v>>63 != 0 {
			return h, false, protocolErrorf("frame length with the most significant bit set")
		}
		h.length = int64(v)
		h.size = 10
	default:
		h.length = int64(n)
	}
	if len(b) < h.size+4 {
		return h, false, nil
	}
	copy(h.mask[:], b[h.size:h.size+4])
	h.size += 4
	return h, true, nil
}

// unmask XORs a payload with its masking key, in place.
func unmask(b []byte, key [4]byte) {
	k := binary.LittleEndian.Uint32(key[:])
	k64 := uint64(k) | uint64(k)<<32
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k64)
	}
	for ; i < len(b); i++ {
		b[i] ^= key[i&3]
	}
}
