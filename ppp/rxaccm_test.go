package ppp

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/hdlc"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/lcp"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/ppp/fsm"
)

// readLog is a line that keeps a copy of what each Read returned.
type readLog struct {
	line.Line
	mu    sync.Mutex
	reads [][]byte
}

func (r *readLog) Read(p []byte) (int, error) {
	n, err := r.Line.Read(p)
	if n > 0 {
		r.mu.Lock()
		r.reads = append(r.reads, bytes.Clone(p[:n]))
		r.mu.Unlock()
	}
	return n, err
}

// oneRead reports whether some single Read returned all of parts.
func (r *readLog) oneRead(parts ...[]byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rd := range r.reads {
		all := true
		for _, p := range parts {
			all = all && bytes.Contains(rd, p)
		}
		if all {
			return true
		}
	}
	return false
}

// scriptPeer is a PPP peer played by hand, frame by frame, to control exactly which bytes go
// out in one write.
type scriptPeer struct {
	t   *testing.T
	rw  line.Line
	dec *hdlc.Decoder
	in  []frame
	buf []byte
}

// expect reads until a frame of protocol with the given code arrives and returns its
// information field; frames before it are skipped.
func (p *scriptPeer) expect(protocol uint16, code byte) []byte {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for len(p.in) > 0 {
			f := p.in[0]
			p.in = p.in[1:]
			if f.proto == protocol && len(f.info) >= 4 && f.info[0] == code {
				return f.info
			}
		}
		require.NoError(p.t, p.rw.SetReadDeadline(deadline))
		if p.buf == nil {
			p.buf = make([]byte, 4096)
		}
		n, err := p.rw.Read(p.buf)
		require.NoError(p.t, err, "waiting for protocol %#04x code %d", protocol, code)
		p.dec.Feed(p.buf[:n], func(proto uint16, info []byte) {
			p.in = append(p.in, frame{proto, bytes.Clone(info)})
		})
	}
}

func (p *scriptPeer) write(b []byte) {
	p.t.Helper()
	_, err := p.rw.Write(b)
	require.NoError(p.t, err)
}

// packet builds a control packet: code, identifier, length, data.
func packet(code, id byte, data ...byte) []byte {
	b := []byte{code, id, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(4+len(data)))
	return append(b, data...)
}

// hasControlChar reports whether b holds a control character (below 0x20): what the receive
// ACCM acts on.
func hasControlChar(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// RFC 1662 7.1: until LCP opens, every control character received unescaped was inserted by
// the DCE and is discarded; from the moment LCP opens, the negotiated map applies, and the
// peer's frames right behind its Configure-Ack carry control characters unescaped. Here the
// peer's first frame after LCP opens (IPCP's Configure-Request, full of 0x00 and 0x0a) arrives
// in the same read as its Configure-Ack: the decoder must switch maps between the two frames.
func TestConnRxACCMFollowsLCP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cp, sp := serialline.Pipe(serialline.Options{})
		defer cp.Close()
		defer sp.Close()
		rl := &readLog{Line: cp}
		got := make(chan []byte, 1)
		c := NewConn(rl, Config{Role: Client})
		c.SetPacketHandler(func(pkt []byte) { got <- bytes.Clone(pkt) })
		c.Start(context.Background())

		peer := &scriptPeer{t: t, rw: sp, dec: hdlc.NewDecoder()}
		enc := hdlc.NewEncoder() // ACCM 0xffffffff: how LCP's own packets always go
		req := peer.expect(ProtoLCP, byte(fsm.ConfigureRequest))
		opts, err := lcp.ParseRequest(req[4:])
		require.NoError(t, err)
		require.True(t, opts.HasACCM, "the client asks for an ACCM")
		require.Zero(t, opts.ACCM, "the client asks for no control character to be escaped")

		// Our Configure-Request, with an XON inserted unescaped: before LCP opens the client
		// must discard it, as a character the DCE added (no FCS error, the request is acked).
		ours := enc.AppendFrame(nil, ProtoLCP, packet(byte(fsm.ConfigureRequest), 1))
		ours = append(ours[:3:3], append([]byte{0x11}, ours[3:]...)...)
		peer.write(ours)
		ack := peer.expect(ProtoLCP, byte(fsm.ConfigureAck))
		assert.Equal(t, byte(1), ack[1])
		require.Zero(t, c.Stats().Framing.FCSErrors, "the inserted XON was discarded")

		// One write: the Configure-Ack of the client's request (the last LCP packet: both ends
		// are open after it), then IPCP's Configure-Request with the negotiated ACCM 0.
		ackFrame := enc.AppendFrame(nil, ProtoLCP, append([]byte{byte(fsm.ConfigureAck)}, req[1:]...))
		enc.SetACCM(0)
		ipcpReq := packet(1, 1, 3, 6, 10, 0, 0, 1) // IP-Address 10.0.0.1
		ipcpFrame := enc.AppendFrame(nil, ProtoIPCP, ipcpReq)
		require.True(t, hasControlChar(ipcpFrame[1:len(ipcpFrame)-1]), "the frame tests the map: it has control characters")
		peer.write(append(bytes.Clone(ackFrame), ipcpFrame...))

		// The client took the IPCP request through the normal path: it acks it.
		ipcpAck := peer.expect(ProtoIPCP, 2)
		assert.Equal(t, ipcpReq[1:], ipcpAck[1:])
		assert.True(t, rl.oneRead(ackFrame, ipcpFrame), "Configure-Ack and the next frame came in one read")
		st := c.Stats()
		assert.Zero(t, st.Framing.FCSErrors)
		assert.Zero(t, st.Framing.Errors())
		assert.Equal(t, uint64(1), st.IPCP.FramesIn)

		// Finish IPCP (Nak the client to 10.0.0.2 and its DNS servers to 10.0.0.1, Ack the
		// retry), then send a packet full of control characters, unescaped: delivered.
		cReq := peer.expect(ProtoIPCP, 1)
		var nak []byte
		for o := cReq[4:]; len(o) >= 2 && int(o[1]) <= len(o); o = o[o[1]:] {
			val := []byte{10, 0, 0, 1}
			if o[0] == 3 {
				val = []byte{10, 0, 0, 2}
			}
			nak = append(nak, o[0], 6)
			nak = append(nak, val...)
		}
		peer.write(enc.AppendFrame(nil, ProtoIPCP, packet(3, cReq[1], nak...)))
		cReq = peer.expect(ProtoIPCP, 1)
		peer.write(enc.AppendFrame(nil, ProtoIPCP, append([]byte{2}, cReq[1:]...)))
		st2 := waitUp(t, c)
		assert.Equal(t, addr("10.0.0.2"), st2.Local)
		pkt := append([]byte{0x45, 0, 0, 28}, make([]byte, 24)...)
		for i := range pkt[20:] {
			pkt[20+i] = byte(i) // 0x00..0x07
		}
		peer.write(enc.AppendFrame(nil, ProtoIPv4, pkt))
		select {
		case in := <-got:
			assert.Equal(t, pkt, in)
		case <-time.After(5 * time.Second):
			t.Fatal("packet not delivered")
		}
		assert.Zero(t, c.Stats().Framing.Errors())

		// The client closes; the peer had a packet on its way, sent with the negotiated map
		// before it read the Terminate-Request (pppd-vm's router advertisements do that): the
		// receive map outlives LCP's Opened state, so it decodes (and is dropped, the link
		// being down) without an FCS error.
		closed := make(chan error, 1)
		go func() { closed <- c.Close(context.Background()) }()
		termReq := peer.expect(ProtoLCP, byte(fsm.TerminateRequest))
		enc0 := bytes.Clone(enc.AppendFrame(nil, ProtoIPv4, pkt))
		enc.SetACCM(lcp.DefaultACCM)
		peer.write(append(enc0, enc.AppendFrame(nil, ProtoLCP, packet(byte(fsm.TerminateAck), termReq[1]))...))
		require.NoError(t, <-closed)
		st = c.Stats()
		assert.Zero(t, st.Framing.Errors(), "%+v", st.Framing)
		assert.Equal(t, uint64(2), st.IPv4.FramesIn, "the packet in flight arrived whole")
		assert.ErrorIs(t, c.Err(), ErrClosed)
	})
}
