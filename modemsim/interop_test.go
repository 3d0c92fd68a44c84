//go:build linux

package modemsim_test

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/internal/peers"
	"github.com/pppdial/pppdial/line"
	"github.com/pppdial/pppdial/modemsim"
)

// hostConfReq is an LCP Configure-Request from the host (MRU 1500, magic), HDLC-framed.
var hostConfReq = []byte("~\xff}#\xc0!}!}!} }.}!}$}%\xdc}%}&L\x9e!}'+\x7f~")

type frame struct {
	proto uint16
	info  []byte
}

// fcs16 is the RFC 1662 frame check sequence.
func fcs16(p []byte) uint16 {
	fcs := uint16(0xffff)
	for _, b := range p {
		fcs ^= uint16(b)
		for i := 0; i < 8; i++ {
			if fcs&1 != 0 {
				fcs = fcs>>1 ^ 0x8408
			} else {
				fcs >>= 1
			}
		}
	}
	return fcs
}

// frames decodes the complete, FCS-good HDLC frames in a byte stream (anything else, such as a
// banner, is skipped).
func frames(stream []byte) []frame {
	var out []frame
	var cur []byte
	in, esc := false, false
	for _, b := range stream {
		switch {
		case b == 0x7e:
			if in && len(cur) >= 6 && fcs16(cur) == 0xf0b8 {
				body := cur[:len(cur)-2]
				if len(body) >= 2 && body[0] == 0xff && body[1] == 0x03 {
					body = body[2:]
				}
				if len(body) >= 2 {
					out = append(out, frame{binary.BigEndian.Uint16(body), append([]byte(nil), body[2:]...)})
				}
			}
			cur, in, esc = nil, true, false
		case !in:
		case b == 0x7d:
			esc = true
		case esc:
			cur = append(cur, b^0x20)
			esc = false
		default:
			cur = append(cur, b)
		}
	}
	return out
}

// awaitLCP reads r until an LCP frame arrives, sending hostConfReq every second meanwhile (a
// passive peer waits for it; an active one answers it too).
func awaitLCP(t *testing.T, data line.Line, d time.Duration) frame {
	t.Helper()
	var mu sync.Mutex
	var stream []byte
	more := make(chan struct{}, 1) // a token: bytes came
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b := make([]byte, 2048)
		for {
			n, err := data.Read(b)
			mu.Lock()
			stream = append(stream, b[:n]...)
			mu.Unlock()
			select {
			case more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	defer func() {
		// Stop the reader before anyone else (Hangup) reads the port.
		close(stop)
		_ = data.SetReadDeadline(time.Now())
		wg.Wait()
		_ = data.SetReadDeadline(time.Time{})
	}()
	deadline := time.After(d)
	resend := time.NewTicker(time.Second)
	defer resend.Stop()
	for {
		_, err := data.Write(hostConfReq)
		require.NoError(t, err)
	wait:
		for {
			select {
			case <-more:
				mu.Lock()
				fs := frames(stream)
				mu.Unlock()
				for _, f := range fs {
					if f.proto == 0xc021 && len(f.info) >= 4 && f.info[0] >= 1 && f.info[0] <= 4 {
						return f
					}
				}
			case <-resend.C:
				break wait
			case <-deadline:
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("no LCP frame from the peer within %v; got %q", d, stream)
				return frame{}
			}
		}
	}
}

func interopCfg() at.Config {
	c := cfg()
	c.Timeouts.Dial = 10 * time.Second
	return c
}

// TestInteropSlirp dials through the emulated modem bridged to slirp-fullbolt and checks that
// PPP from slirp reaches the session's data stream.
func TestInteropSlirp(t *testing.T) {
	peers.Tool(t, peers.SlirpBinary)
	r := newRig(t, fast(modemsim.SIM7600()), modemsim.BridgeCommand(peers.SlirpBinary, "ppp"))
	s, err := r.dial(t, interopCfg())
	require.NoError(t, err)
	f := awaitLCP(t, s.Data(), 15*time.Second)
	t.Logf("slirp answered LCP code %d id %d", f.info[0], f.info[1])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.Hangup(ctx))
}

// TestInteropPPPDVM dials through the emulated modem bridged to the pppd VM's pty; pppd is passive,
// so the host's Configure-Request must get an answer.
func TestInteropPPPDVM(t *testing.T) {
	vm := peers.PPPDVM(t)
	r := newRig(t, fast(modemsim.EC25()), modemsim.BridgePTY(vm.PTY))
	s, err := r.dial(t, interopCfg())
	require.NoError(t, err)
	f := awaitLCP(t, s.Data(), 30*time.Second)
	t.Logf("pppd answered LCP code %d id %d", f.info[0], f.info[1])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.Hangup(ctx))
}
