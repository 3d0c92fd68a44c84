package ipcp

import (
	"bytes"
	"testing"

	"github.com/pppdial/pppdial/ppp/fsm"
)

// FuzzCheckRequest: any well-formed request gets a well-formed reply in both roles; an Ack
// echoes it; a Reject only names requested options.
func FuzzCheckRequest(f *testing.F) {
	f.Add(slirpReq)
	f.Add([]byte{3, 6, 0, 0, 0, 0, 129, 6, 0, 0, 0, 0, 131, 6, 0, 0, 0, 0})
	f.Add([]byte{3, 6, 10, 0, 0, 2, 3, 6, 10, 0, 0, 2})
	f.Fuzz(func(t *testing.T, opts []byte) {
		if fsm.ValidOptions(opts) != nil {
			return
		}
		for _, p := range []Policy{client, server, {}} {
			code, out, _ := check(opts, p)
			if fsm.ValidOptions(out) != nil {
				t.Fatalf("malformed reply %x", out)
			}
			if code == fsm.ConfigureAck && !bytes.Equal(out, opts) {
				t.Fatalf("ack %x != %x", out, opts)
			}
			if code == fsm.ConfigureReject {
				for typ := range fsm.Options(out) {
					if !fsm.HasOption(opts, typ) {
						t.Fatalf("rejected %d not requested", typ)
					}
				}
			}
		}
	})
}

// FuzzApplyNakReject: arbitrary replies keep our request well formed and never make us request
// an address we did not ask for.
func FuzzApplyNakReject(f *testing.F) {
	f.Add(slirpNak)
	f.Add([]byte{3, 6, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, opts []byte) {
		for _, want := range []Options{client.Initial(), server.Initial(), {}} {
			got, err := ApplyNak(want, opts)
			if err == nil {
				if got.Addr.IsValid() != want.Addr.IsValid() {
					t.Fatalf("address presence changed by a Nak")
				}
				if fsm.ValidOptions(AppendRequest(nil, got)) != nil {
					t.Fatal("malformed request")
				}
			}
			_, _ = ApplyReject(want, opts)
		}
		_, _ = ParseRequest(opts)
		_ = FormatOptions(opts)
	})
}
