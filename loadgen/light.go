package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bpfdraft/bpfdraft/client"
)

// lightViewer is a viewer beyond the sample: it reads every frame the
// server sends it, as a browser would, but instead of decoding and
// applying the updates it only follows their seq numbers, checking that
// they come in order with none missing or doubled. The frames are the same
// bytes for every viewer (the server encodes each broadcast once), so the
// sampled viewers, which apply everything and are compared with the
// server's text at the end, vouch for the content; the light ones for
// delivery. Thousands of them then cost the generator little CPU, which it
// would otherwise take from the server it is measuring.
type lightViewer struct {
	ws  *websocket.Conn
	seq atomic.Int64 // the last seq received
	// problem is what went wrong (a gap, an error message, the connection
	// ending before closeAll); empty while all is well.
	mu      sync.Mutex
	problem string
	closing atomic.Bool
	done    chan struct{}
	counted atomic.Bool // its disconnect was counted
}

var (
	seqKey  = []byte(`"seq":`)
	codeKey = []byte(`"code":"`)
)

// dialLight connects a light viewer, its handshake carrying header (the
// session cookie, or nothing), and waits for its welcome.
func dialLight(ctx context.Context, d *websocket.Dialer, base, doc, id string, header http.Header, onError func(string)) (*lightViewer, error) {
	u, err := wsURL(base, doc, true)
	if err != nil {
		return nil, err
	}
	ws, err := dialSocket(ctx, d, u, header)
	if err != nil {
		return nil, err
	}
	hello := fmt.Sprintf(`{"type":"hello","protocol":%d,"name":"viewer"}`, client.ProtocolVersion)
	if err := ws.WriteMessage(websocket.TextMessage, []byte(hello)); err != nil {
		ws.Close()
		return nil, err
	}
	v := &lightViewer{ws: ws, done: make(chan struct{})}
	v.seq.Store(-1)
	welcomed := make(chan struct{})
	go v.read(onError, welcomed)
	select {
	case <-welcomed:
		return v, nil
	case <-v.done:
		return nil, fmt.Errorf("viewer %s: %s", id, v.trouble())
	case <-ctx.Done():
		v.close()
		return nil, ctx.Err()
	}
}

// dialSocket opens a websocket to u with header; a refused handshake is
// an error naming the server's status and message.
func dialSocket(ctx context.Context, d *websocket.Dialer, u string, header http.Header) (*websocket.Conn, error) {
	ws, resp, err := d.DialContext(ctx, u, header)
	if err == nil {
		return ws, nil
	}
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		path := u
		if pu, perr := url.Parse(u); perr == nil {
			path = pu.Path
		}
		return nil, fmt.Errorf("dial %s: %w", u, apiErrorOf("GET", path, resp, data))
	}
	return nil, fmt.Errorf("dial %s: %w", u, err)
}

// wsURL is the websocket address of document doc on the server at base.
func wsURL(base, doc string, view bool) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path = strings.TrimRight(u.Path, "/") + "/api/documents/" + url.PathEscape(doc) + "/ws"
	if view {
		u.RawQuery = "mode=view"
	}
	return u.String(), nil
}

// read follows the frames until the connection ends.
func (v *lightViewer) read(onError func(string), welcomed chan struct{}) {
	defer close(v.done)
	var buf bytes.Buffer
	for {
		_, r, err := v.ws.NextReader()
		if err != nil {
			if !v.closing.Load() {
				v.fail("connection ended: " + err.Error())
			}
			return
		}
		buf.Reset()
		if _, err := io.Copy(&buf, r); err != nil {
			if !v.closing.Load() {
				v.fail("connection ended: " + err.Error())
			}
			return
		}
		// The seq is published once the whole frame is checked, so a
		// waiter that sees it also sees any problem before it.
		seq := v.seq.Load()
		for line := range bytes.SplitSeq(buf.Bytes(), []byte{'\n'}) {
			switch {
			case bytes.HasPrefix(line, []byte(`{"type":"updates"`)):
				for rest := line; ; {
					i := bytes.Index(rest, seqKey)
					if i < 0 {
						break
					}
					rest = rest[i+len(seqKey):]
					n, rest2 := leadingInt(rest)
					rest = rest2
					if seq >= 0 && n != seq+1 {
						v.fail(fmt.Sprintf("seq %d after %d", n, seq))
					}
					seq = n
				}
			case bytes.HasPrefix(line, []byte(`{"type":"welcome"`)):
				// The welcome's own seq comes before the document's.
				if i := bytes.Index(line, seqKey); i >= 0 {
					seq, _ = leadingInt(line[i+len(seqKey):])
				}
				v.seq.Store(seq)
				if welcomed != nil {
					close(welcomed)
					welcomed = nil
				}
			case bytes.HasPrefix(line, []byte(`{"type":"error"`)):
				code := "unknown"
				if i := bytes.Index(line, codeKey); i >= 0 {
					rest := line[i+len(codeKey):]
					if j := bytes.IndexByte(rest, '"'); j >= 0 {
						code = string(rest[:j])
					}
				}
				onError(code)
			}
		}
		v.seq.Store(seq)
	}
}

// leadingInt parses the digits at the start of b.
func leadingInt(b []byte) (int64, []byte) {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	n, _ := strconv.ParseInt(string(b[:i]), 10, 64)
	return n, b[i:]
}

func (v *lightViewer) fail(why string) {
	v.mu.Lock()
	if v.problem == "" {
		v.problem = why
	}
	v.mu.Unlock()
}

func (v *lightViewer) trouble() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.problem
}

// ended reports whether the connection ended before close was called.
func (v *lightViewer) ended() bool {
	select {
	case <-v.done:
		return !v.closing.Load()
	default:
		return false
	}
}

// waitSeq waits until the viewer has received seq, or fails.
func (v *lightViewer) waitSeq(ctx context.Context, seq int64) error {
	for v.seq.Load() < seq {
		select {
		case <-v.done:
			return fmt.Errorf("at seq %d of %d: %s", v.seq.Load(), seq, v.trouble())
		case <-ctx.Done():
			return fmt.Errorf("at seq %d of %d: %w", v.seq.Load(), seq, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if p := v.trouble(); p != "" {
		return fmt.Errorf("%s", p)
	}
	return nil
}

func (v *lightViewer) close() {
	v.closing.Store(true)
	v.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	v.ws.Close()
	<-v.done
}
