package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pppdial/pppdial/at/cell"
	"github.com/pppdial/pppdial/recovery"
	"github.com/pppdial/pppdial/usage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// fakeLink is a session as the server sees it.
type fakeLink struct {
	status  Status
	redials atomic.Int32
	atMu    sync.Mutex
	atSeen  []string
	atFail  string // the command that fails
}

func (f *fakeLink) handlers() Handlers {
	return Handlers{
		Status: func(context.Context) Status { return f.status },
		Redial: func(context.Context) error { f.redials.Add(1); return nil },
		AT: func(_ context.Context, cmd string) ([]string, error) {
			f.atMu.Lock()
			f.atSeen = append(f.atSeen, cmd)
			f.atMu.Unlock()
			switch cmd {
			case f.atFail:
				return nil, errors.New("+CME ERROR: 10")
			case "AT+CSQ":
				return []string{"+CSQ: 20,99"}, nil
			}
			return nil, nil
		},
	}
}

// serve runs s on a fresh socket in a temporary directory and returns the socket's path; the
// server stops at the end of the test.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pp.sock")
	ln, err := Listen(path)
	require.NoError(t, err)
	stop := serveOn(t, s, ln)
	t.Cleanup(func() { assert.NoError(t, stop()) })
	return path
}

func dial(t *testing.T, path string) *Client {
	t.Helper()
	c, err := Dial(t.Context(), path)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRoundTrips(t *testing.T) {
	s := NewServer(Options{Now: func() time.Time { return t0 }})
	lte := cell.TechLTE
	pp0 := &fakeLink{status: Status{
		State: "up", Up: true, UpSince: t0.Add(-90 * time.Minute), Attempt: 2,
		Addresses: Addresses{Local: netip.MustParseAddr("10.0.0.2"), Peer: netip.MustParseAddr("10.0.0.1"),
			DNS: []netip.Addr{netip.MustParseAddr("10.0.0.53")}, MTU: 1500},
		Modem:  Modem{Manufacturer: "Quectel", Model: "EC25", IMEI: "867698041234567", ICCID: "89490200001234567890"},
		Signal: &cell.Picture{RSSIdBm: new(-71.0), Tech: &lte}, Registration: "home",
		Counters: Counters{RxBytes: 5 << 20, TxBytes: 1 << 20},
		Usage: UsageOf(usage.Snapshot{ICCID: "89490200001234567890", BillingDay: 1,
			Current: usage.Period{Start: t0.AddDate(0, 0, -9), End: t0.AddDate(0, 0, 21), RxBytes: 7}}),
		LastRecovery: RecoveryOf(recovery.Event{Step: recovery.StepRadioReset, Result: recovery.ResultFailed,
			Elapsed: 1500 * time.Millisecond, Attempt: 1, Err: errors.New("no registration")}, t0.Add(-2*time.Hour)),
	}}
	pp1 := &fakeLink{status: Status{State: "dialing"}}
	require.NoError(t, s.Add("pp0", pp0.handlers()))
	require.NoError(t, s.Add("pp1", pp1.handlers()))
	require.Error(t, s.Add("pp0", pp0.handlers()), "a name is registered once")
	require.Error(t, s.Add("bad/name", pp0.handlers()))
	c := dial(t, serve(t, s))
	ctx := t.Context()

	st, err := c.Status(ctx, "")
	require.NoError(t, err)
	want := pp0.status
	want.Ifname = "pp0"
	want.Uptime = Duration(90 * time.Minute)
	assert.Equal(t, want, st, "the first link answers an empty ifname; the status survives JSON")

	st, err = c.Status(ctx, "pp1")
	require.NoError(t, err)
	assert.Equal(t, "dialing", st.State)
	assert.Zero(t, st.Uptime)

	all, err := c.List(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, []string{"pp0", "pp1"}, []string{all[0].Ifname, all[1].Ifname})

	require.NoError(t, c.Redial(ctx, "pp1"))
	assert.Equal(t, int32(1), pp1.redials.Load())
	assert.Zero(t, pp0.redials.Load())

	res, err := c.AT(ctx, "pp0", "AT+CSQ", "ATI")
	require.NoError(t, err)
	assert.Equal(t, []ATResult{{Cmd: "AT+CSQ", Lines: []string{"+CSQ: 20,99"}}, {Cmd: "ATI", Lines: []string{}}}, res)

	pp0.atFail = "AT+COPS?"
	_, err = c.AT(ctx, "pp0", "AT+CSQ", "AT+COPS?", "AT+CREG?")
	require.ErrorIs(t, err, ErrFailed)
	var re *RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, []ATResult{{Cmd: "AT+CSQ", Lines: []string{"+CSQ: 20,99"}}, {Cmd: "AT+COPS?", Lines: []string{}, Error: "+CME ERROR: 10"}}, re.AT)
	assert.NotContains(t, pp0.atSeen, "AT+CREG?", "nothing runs after a failed command")

	_, err = c.Status(ctx, "pp7")
	require.ErrorIs(t, err, ErrNoLink)
	assert.Contains(t, err.Error(), "pp7")

	s.Remove("pp0")
	st, err = c.Status(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, "pp1", st.Ifname, "the next link becomes the first")
	s.Remove("pp1")
	_, err = c.Status(ctx, "")
	require.ErrorIs(t, err, ErrNoLink)
	all, err = c.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, all)
}

func TestUnsupportedOperations(t *testing.T) {
	s := NewServer(Options{})
	require.NoError(t, s.Add("pp0", Handlers{Status: func(context.Context) Status { return Status{} }}))
	c := dial(t, serve(t, s))
	require.ErrorIs(t, c.Redial(t.Context(), "pp0"), ErrUnsupported)
	_, err := c.AT(t.Context(), "pp0", "AT")
	require.ErrorIs(t, err, ErrUnsupported)
	require.Error(t, s.Add("pp1", Handlers{}), "Status is required")
}

// rawConn speaks the protocol by hand, for what the Client would refuse to send.
func rawConn(t *testing.T, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("unix", path)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	return c, bufio.NewReader(c)
}

func readResponse(t *testing.T, r *bufio.Reader) Response {
	t.Helper()
	line, err := r.ReadBytes('\n')
	require.NoError(t, err)
	var resp Response
	require.NoError(t, json.Unmarshal(line, &resp), "%q", line)
	return resp
}

func TestBadRequestsKeepTheConnection(t *testing.T) {
	s := NewServer(Options{})
	require.NoError(t, s.Add("pp0", (&fakeLink{}).handlers()))
	c, r := rawConn(t, serve(t, s))
	for _, line := range []string{
		`not json`, `{"op":"reboot"}`, `{}`, `{"op":"status","ifname":"../etc"}`,
		`{"op":"at","cmds":[]}`, `{"op":"at","cmds":["AT\r\nAT+CFUN=0"]}`, `{"op":"at","cmds":["AT+CMGS\u001a"]}`,
		`{"op":"status","cmds":["AT"]}`, `{"op":"status"} trailing`,
	} {
		_, err := c.Write([]byte(line + "\n"))
		require.NoError(t, err)
		resp := readResponse(t, r)
		assert.False(t, resp.OK, line)
		assert.Equal(t, CodeBadRequest, resp.Code, line)
	}
	_, err := c.Write([]byte("{\"op\":\"status\"}\r\n"))
	require.NoError(t, err)
	assert.True(t, readResponse(t, r).OK, "CRLF is a line end too; the connection still works")
}

func TestRequestTooLargeClosesTheConnection(t *testing.T) {
	s := NewServer(Options{})
	require.NoError(t, s.Add("pp0", (&fakeLink{}).handlers()))
	c, r := rawConn(t, serve(t, s))
	big := `{"op":"status","x":"` + strings.Repeat("a", MaxRequestBytes) + `"}` + "\n"
	go c.Write([]byte(big)) // the server stops reading midway
	resp := readResponse(t, r)
	assert.Equal(t, CodeTooLarge, resp.Code)
	_, err := r.ReadByte()
	assert.Error(t, err, "closed after a request too large")

	// At the limit exactly it is fine.
	c2, r2 := rawConn(t, serve(t, s))
	pad := MaxRequestBytes - 1 - len(`{"op":"status","x":""}`)
	_, err = c2.Write([]byte(`{"op":"status","x":"` + strings.Repeat("a", pad) + `"}` + "\n"))
	require.NoError(t, err)
	assert.True(t, readResponse(t, r2).OK)

	// The client refuses to send what the server would refuse.
	cl := dial(t, serve(t, s))
	_, err = cl.AT(t.Context(), "", strings.Repeat("A", MaxATCommandLen+1))
	require.ErrorIs(t, err, ErrBadRequest)
}

func TestMaxClients(t *testing.T) {
	s := NewServer(Options{MaxClients: 2})
	require.NoError(t, s.Add("pp0", (&fakeLink{}).handlers()))
	path := serve(t, s)
	for range 2 { // two clients served (a round trip proves the server took them)
		_, err := dial(t, path).Status(t.Context(), "")
		require.NoError(t, err)
	}
	_, err := dial(t, path).Status(t.Context(), "")
	require.ErrorIs(t, err, ErrBusy)
}

func TestNoDaemon(t *testing.T) {
	dir := t.TempDir()
	_, err := Dial(t.Context(), filepath.Join(dir, "pp0.sock"))
	require.ErrorIs(t, err, ErrNoDaemon)
	assert.Equal(t, "no pppdial daemon is running on "+filepath.Join(dir, "pp0.sock"), err.Error())

	stale := filepath.Join(dir, "stale.sock")
	staleSocket(t, stale)
	_, err = Dial(t.Context(), stale)
	require.ErrorIs(t, err, ErrNoDaemon)
	assert.NotContains(t, err.Error(), "\n")
}

// pipeListener hands out in-memory connections: inside a synctest bubble its deadlines run on
// the bubble's clock.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) dial() net.Conn {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
	case <-l.closed:
		server.Close()
	}
	return client
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.UnixAddr{Name: "pipe", Net: "unix"} }

// serveOn runs s on ln and returns a stop that ends Serve and returns its error.
func serveOn(t *testing.T, s *Server, ln net.Listener) (stop func() error) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	return func() error { cancel(); return <-done }
}

func pipeClient(c net.Conn) *Client { return &Client{conn: c, r: bufio.NewReader(c)} }

func TestIdleConnectionClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(Options{IdleTimeout: 30 * time.Second})
		require.NoError(t, s.Add("pp0", (&fakeLink{}).handlers()))
		ln := newPipeListener()
		stop := serveOn(t, s, ln)

		c := pipeClient(ln.dial())
		start := time.Now()
		_, err := c.Status(t.Context(), "")
		require.NoError(t, err)
		_, err = c.r.ReadByte() // the server says nothing more and hangs up when idle
		assert.Error(t, err)
		assert.Equal(t, 30*time.Second, time.Since(start))
		assert.NoError(t, stop())
	})
}

func TestRequestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(Options{RequestTimeout: time.Minute})
		require.NoError(t, s.Add("pp0", Handlers{
			Status: func(context.Context) Status { return Status{} },
			AT: func(ctx context.Context, _ string) ([]string, error) {
				<-ctx.Done() // the modem never answers
				return nil, ctx.Err()
			},
		}))
		ln := newPipeListener()
		stop := serveOn(t, s, ln)

		c := pipeClient(ln.dial())
		start := time.Now()
		_, err := c.AT(t.Context(), "", "AT+COPS=?")
		require.ErrorIs(t, err, ErrFailed)
		assert.Contains(t, err.Error(), "deadline exceeded")
		assert.Equal(t, time.Minute, time.Since(start))
		assert.NoError(t, stop())
	})
}

func TestClientContextCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		s := NewServer(Options{})
		require.NoError(t, s.Add("pp0", Handlers{
			Status: func(context.Context) Status { return Status{} },
			Redial: func(ctx context.Context) error {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil
			},
		}))
		ln := newPipeListener()
		stop := serveOn(t, s, ln)

		c := pipeClient(ln.dial())
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		err := c.Redial(ctx, "")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		close(release)
		assert.NoError(t, stop())
	})
}

func TestShutdownIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		s := NewServer(Options{ShutdownTimeout: 5 * time.Second})
		require.NoError(t, s.Add("pp0", Handlers{
			Status: func(context.Context) Status { return Status{} },
			Redial: func(context.Context) error { <-release; return nil }, // ignores its context
		}))
		ln := newPipeListener()
		stop := serveOn(t, s, ln)

		idle := pipeClient(ln.dial()) // an idle client does not hold the shutdown up
		defer idle.Close()
		c := pipeClient(ln.dial())
		go c.Redial(t.Context(), "")
		synctest.Wait()
		start := time.Now()
		assert.ErrorIs(t, stop(), ErrShutdownTimeout)
		assert.Equal(t, 5*time.Second, time.Since(start))
		close(release)
		synctest.Wait()
	})
}

// errListener fails its first Accepts with err, then hands out conns from next.
type errListener struct {
	*pipeListener
	fails int
	err   error
}

func (l *errListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, l.err
	}
	return l.pipeListener.Accept()
}

func TestAcceptErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(Options{})
		require.NoError(t, s.Add("pp0", (&fakeLink{}).handlers()))
		// Out of descriptors: the server waits and goes on.
		ln := &errListener{pipeListener: newPipeListener(), fails: 3, err: syscall.EMFILE}
		stop := serveOn(t, s, ln)
		_, err := pipeClient(ln.dial()).Status(t.Context(), "")
		require.NoError(t, err)
		require.NoError(t, stop())

		// Any other failure ends Serve with it.
		ln = &errListener{pipeListener: newPipeListener(), fails: 1, err: errors.New("listener broke")}
		err = s.Serve(t.Context(), ln)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "listener broke")
	})
}

// A status whose duration is not a Go duration string is refused, not read as zero: a client
// must not show a link as just up because a daemon wrote its uptime another way.
func TestStatusDurationJSON(t *testing.T) {
	var st Status
	require.NoError(t, json.Unmarshal([]byte(`{"uptime":"1m30s"}`), &st))
	assert.Equal(t, 90*time.Second, time.Duration(st.Uptime))
	for _, bad := range []string{`{"uptime":90}`, `{"uptime":"90 parsecs"}`} {
		err := json.Unmarshal([]byte(bad), &st)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "duration", bad)
	}
}

// A daemon's error code this client does not know (a newer daemon) matches no sentinel: it is
// not taken for one it happens to resemble, and its message still says what happened.
func TestRemoteErrorUnknownCode(t *testing.T) {
	err := error(&RemoteError{Code: "quota-exhausted", Message: "the SIM used its quota"})
	for _, s := range []error{ErrBadRequest, ErrTooLarge, ErrBusy, ErrNoLink, ErrUnsupported, ErrFailed} {
		assert.False(t, errors.Is(err, s), "%v", s)
	}
	assert.True(t, errors.Is(&RemoteError{Code: CodeNoLink}, ErrNoLink))
	assert.Equal(t, "control: daemon: the SIM used its quota (quota-exhausted)", err.Error())
}
