package bind_test

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/pppdial/pppdial/bind"
	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/netif/netiftest"
)

// TestMain checks, after every test and its cleanups, that no goroutine
// outlived it (ours, gVisor's, the pipe's, the DNS server's).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.DiscardHandler)

var (
	cliAddr = netip.MustParseAddr("10.64.0.1")
	srvAddr = netip.MustParseAddr("10.64.0.2")
	cliLL   = netip.MustParseAddr("fe80::1")
	srvLL   = netip.MustParseAddr("fe80::2")
)

// link is a client pp interface and a server pp interface back to back,
// the server answering DNS for *.test on srvAddr:53.
type link struct {
	reg      *netif.Registry
	cli, srv *netif.Netif
	devCli   *netiftest.Device
	devSrv   *netiftest.Device
	dns      *dnsServer
}

// newLink builds a link over an in-memory packet pipe in reg (nil: a
// fresh registry) and tears it down with t.Cleanup.
func newLink(t testing.TB, reg *netif.Registry, opts netiftest.Options) *link {
	t.Helper()
	a, b := netiftest.Pipe(opts)
	t.Cleanup(func() { _ = a.Close() })
	l := newLinkOn(t, reg, a, b,
		netif.Config{Local: cliAddr, Peer: srvAddr, LocalV6: cliLL, PeerV6: srvLL, DNS: []netip.Addr{srvAddr}},
		netif.Config{Local: srvAddr, Peer: cliAddr, LocalV6: srvLL, PeerV6: cliLL})
	l.devCli, l.devSrv = a, b
	return l
}

// newLinkOn builds a link over any pair of Devices (a packet pipe, or two
// ppp.Conns on a serial line): client pp interface on cli, server on srv,
// brought up with cliCfg and srvCfg, a DNS server for *.test on the
// server side.
func newLinkOn(t testing.TB, reg *netif.Registry, cli, srv netif.Device, cliCfg, srvCfg netif.Config) *link {
	t.Helper()
	if reg == nil {
		reg = netif.NewRegistry()
	}
	l := &link{reg: reg}
	var err error
	l.cli, err = reg.AddPPP(cli, netif.Options{Logger: quiet})
	require.NoError(t, err)
	l.srv, err = reg.AddPPP(srv, netif.Options{Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() {
		if l.dns != nil {
			l.dns.close()
		}
		_ = reg.Remove(l.cli)
		_ = reg.Remove(l.srv)
	})
	require.NoError(t, l.cli.SetUp(cliCfg))
	require.NoError(t, l.srv.SetUp(srvCfg))
	pc, err := (&bind.ListenConfig{Interface: l.srv.Name(), Registry: reg}).ListenPacket(context.Background(), "udp", ":53")
	require.NoError(t, err)
	l.dns = serveDNS(pc, map[string][]netip.Addr{
		"peer.test.":  {srvAddr},
		"multi.test.": {netip.MustParseAddr("10.64.0.9"), srvAddr},
		"six.test.":   {srvLL},
	})
	return l
}

// dnsServer answers A/AAAA queries from a table; names ending in
// ".cname.test." answer with a CNAME to peer.test plus its A record.
type dnsServer struct {
	pc      net.PacketConn
	wg      sync.WaitGroup
	mu      sync.Mutex
	queries []string
}

func serveDNS(pc net.PacketConn, table map[string][]netip.Addr) *dnsServer {
	s := &dnsServer{pc: pc}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 1500)
		for {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			resp := s.answer(buf[:k], table)
			if resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	return s
}

func (s *dnsServer) answer(req []byte, table map[string][]netip.Addr) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(req)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	s.mu.Lock()
	s.queries = append(s.queries, q.Type.String()+" "+q.Name.String())
	s.mu.Unlock()
	name := strings.ToLower(q.Name.String())
	rh := dnsmessage.Header{ID: h.ID, Response: true, RecursionAvailable: true}
	var answers []dnsmessage.Resource
	target := name
	if strings.HasSuffix(name, ".cname.test.") {
		target = "peer.test."
		answers = append(answers, dnsmessage.Resource{
			Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeCNAME, Class: dnsmessage.ClassINET, TTL: 60},
			Body:   &dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(target)},
		})
	}
	addrs, ok := table[target]
	if !ok {
		rh.RCode = dnsmessage.RCodeNameError
	}
	for _, a := range addrs {
		rhdr := dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(target), Class: dnsmessage.ClassINET, TTL: 60}
		switch {
		case a.Is4() && q.Type == dnsmessage.TypeA:
			rhdr.Type = dnsmessage.TypeA
			answers = append(answers, dnsmessage.Resource{Header: rhdr, Body: &dnsmessage.AResource{A: a.As4()}})
		case a.Is6() && q.Type == dnsmessage.TypeAAAA:
			rhdr.Type = dnsmessage.TypeAAAA
			answers = append(answers, dnsmessage.Resource{Header: rhdr, Body: &dnsmessage.AAAAResource{AAAA: a.As16()}})
		}
	}
	msg := dnsmessage.Message{Header: rh, Questions: []dnsmessage.Question{q}, Answers: answers}
	out, err := msg.Pack()
	if err != nil {
		return nil
	}
	return out
}

func (s *dnsServer) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

func (s *dnsServer) close() {
	_ = s.pc.Close()
	s.wg.Wait()
}
