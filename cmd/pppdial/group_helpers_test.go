package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/control"
	"github.com/pppdial/pppdial/internal/socksclient"
)

// eventLog keeps every JSON event a process with several links printed, so that a test can wait
// for one (the up of pp1, a route event to pp0) and then ask what else came, and in which order.
type eventLog struct {
	p   *proc
	all []map[string]any
}

func newEventLog(p *proc) *eventLog { return &eventLog{p: p} }

// is matches an event by name and, unless ifname is "*", by its "ifname" ("" matches an event
// without one).
func is(name, ifname string) func(map[string]any) bool {
	return func(e map[string]any) bool {
		if e["event"] != name {
			return false
		}
		got, _ := e["ifname"].(string)
		return ifname == "*" || got == ifname
	}
}

// wait returns the index of the first event at or after from that match accepts, reading the
// process's output until it comes; it fails t when none comes within the bound or the process
// exits.
func (l *eventLog) wait(t *testing.T, from int, within time.Duration, what string, match func(map[string]any) bool) int {
	t.Helper()
	for i := from; i < len(l.all); i++ {
		if match(l.all[i]) {
			return i
		}
	}
	deadline := time.After(within)
	for {
		select {
		case e, ok := <-l.p.events:
			if !ok {
				t.Fatalf("pppdial exited (%v) before %s; events:\n%s\nstderr:\n%s", l.p.err, what, l.dump(from), l.p.stderr.String())
			}
			l.all = append(l.all, e)
			if len(l.all)-1 >= from && match(e) {
				return len(l.all) - 1
			}
		case <-deadline:
			t.Fatalf("no %s within %v; events since:\n%s\nstderr:\n%s", what, within, l.dump(from), l.p.stderr.String())
		}
	}
}

// drain reads the events printed so far without waiting, and returns how many the log holds.
func (l *eventLog) drain() int {
	for {
		select {
		case e, ok := <-l.p.events:
			if !ok {
				return len(l.all)
			}
			l.all = append(l.all, e)
		default:
			return len(l.all)
		}
	}
}

// since returns the events at or after from (up to what has been read) that match accepts.
func (l *eventLog) since(from int, match func(map[string]any) bool) []map[string]any {
	var out []map[string]any
	for _, e := range l.all[min(from, len(l.all)):] {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

// dump formats the events from index from, one a line, for failure messages.
func (l *eventLog) dump(from int) string {
	var b strings.Builder
	for _, e := range l.all[min(from, len(l.all)):] {
		if e["event"] == "stats" || e["event"] == "signal" {
			continue // many, and not what a failure is about
		}
		fmt.Fprintf(&b, "  %v\n", e)
	}
	return b.String()
}

// eventTime is the event's "time".
func eventTime(t *testing.T, e map[string]any) time.Time {
	t.Helper()
	s, _ := e["time"].(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err, "event time %q", s)
	return at
}

// viaSOCKS opens a connection to addr (host:port; a name is resolved by the proxy, over the link,
// as curl --socks5-hostname does) through the SOCKS5 proxy, and returns it with the link's own
// address the proxy connected from (BND.ADDR of its reply): the address tells which link carries
// the connection.
func viaSOCKS(ctx context.Context, proxy, addr string) (*socksclient.Conn, netip.Addr, error) {
	c, err := socksclient.Connect(ctx, "tcp", proxy, socksclient.Auth{}, addr)
	if err != nil {
		return nil, netip.Addr{}, err
	}
	return c, c.Bound.Addr(), nil
}

// httpGet sends a GET for path to host over c and returns the response (its body still to read).
func httpGet(c net.Conn, host, path string) (*http.Response, error) {
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return resp, nil
}

// fetchVia fetches http://host/path through the proxy and returns the body and the address of
// the link that carried it.
func fetchVia(ctx context.Context, proxy, host, path string) ([]byte, netip.Addr, error) {
	c, bound, err := viaSOCKS(ctx, proxy, host+":80")
	if err != nil {
		return nil, bound, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	resp, err := httpGet(c, host, path)
	if err != nil {
		return nil, bound, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return body, bound, err
}

// echoRoundTrip writes n random bytes to an echo service over c and checks that the same bytes
// come back, within the bound.
func echoRoundTrip(c net.Conn, n int, within time.Duration) error {
	out := make([]byte, n)
	_, _ = rand.Read(out)
	if err := c.SetDeadline(time.Now().Add(within)); err != nil {
		return err
	}
	defer c.SetDeadline(time.Time{})
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(out)
		werr <- err
	}()
	in := make([]byte, n)
	if _, err := io.ReadFull(c, in); err != nil {
		return fmt.Errorf("echo: read: %w", err)
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("echo: write: %w", err)
	}
	if !bytes.Equal(in, out) {
		return fmt.Errorf("echo: %d bytes came back different", n)
	}
	return nil
}

// linkStatus runs `pppdial status --json` against a group's control socket and returns every
// link's status (one JSON object a line) by ifname.
func linkStatus(t *testing.T, sock string) map[string]control.Status {
	t.Helper()
	code, stdout, stderr := runToEnd(t, 20*time.Second, "status", "--control", sock, "--json")
	require.Equal(t, exitOK, code, stderr)
	out := map[string]control.Status{}
	dec := json.NewDecoder(strings.NewReader(stdout))
	for dec.More() {
		var st control.Status
		require.NoError(t, dec.Decode(&st), stdout)
		out[st.Ifname] = st
	}
	return out
}
