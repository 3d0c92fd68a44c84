package fsm

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rfcTable is RFC 1661 section 4.1's state transition table, transcribed column by column
// (states 0..9) with the footnote letters (r, p, x) kept; they are stripped before comparing.
// "-" is an illegal transition, which the automaton ignores.
var rfcTable = map[Event][10]string{
	Up:       {"2", "irc,scr/6", "-", "-", "-", "-", "-", "-", "-", "-"},
	Down:     {"-", "-", "0", "tls/1", "0", "1", "1", "1", "1", "tld/1"},
	Open:     {"tls/1", "1", "irc,scr/6", "3r", "5r", "5r", "6", "7", "8", "9r"},
	Close:    {"0", "tlf/0", "2", "2", "4", "4", "irc,str/4", "irc,str/4", "irc,str/4", "tld,irc,str/4"},
	TOPlus:   {"-", "-", "-", "-", "str/4", "str/5", "scr/6", "scr/6", "scr/8", "-"},
	TOMinus:  {"-", "-", "-", "-", "tlf/2", "tlf/3", "tlf/3p", "tlf/3p", "tlf/3p", "-"},
	RCRPlus:  {"-", "-", "sta/2", "irc,scr,sca/8", "4", "5", "sca/8", "sca,tlu/9", "sca/8", "tld,scr,sca/8"},
	RCRMinus: {"-", "-", "sta/2", "irc,scr,scn/6", "4", "5", "scn/6", "scn/7", "scn/6", "tld,scr,scn/6"},
	RCA:      {"-", "-", "sta/2", "sta/3", "4", "5", "irc/7", "scr/6x", "irc,tlu/9", "tld,scr/6x"},
	RCN:      {"-", "-", "sta/2", "sta/3", "4", "5", "irc,scr/6", "scr/6x", "irc,scr/8", "tld,scr/6x"},
	RTR:      {"-", "-", "sta/2", "sta/3", "sta/4", "sta/5", "sta/6", "sta/6", "sta/6", "tld,zrc,sta/5"},
	RTA:      {"-", "-", "2", "3", "tlf/2", "tlf/3", "6", "6", "8", "tld,scr/6"},
	RUC:      {"-", "-", "scj/2", "scj/3", "scj/4", "scj/5", "scj/6", "scj/7", "scj/8", "scj/9"},
	RXJPlus:  {"-", "-", "2", "3", "4", "5", "6", "6", "8", "9"},
	RXJMinus: {"-", "-", "tlf/2", "tlf/3", "tlf/2", "tlf/3", "tlf/3", "tlf/3", "tlf/3", "tld,irc,str/5"},
	RXR:      {"-", "-", "2", "3", "4", "5", "6", "7", "8", "ser/9"},
}

// parseCell splits "a,b/N" into actions and new state; "-" means illegal.
func parseCell(t *testing.T, cell string) (actions []action, next State, legal bool) {
	t.Helper()
	if cell == "-" {
		return nil, 0, false
	}
	stateStr := cell
	if i := strings.LastIndexByte(cell, '/'); i >= 0 {
		for name := range strings.SplitSeq(cell[:i], ",") {
			a := parseAction(name)
			require.NotEqual(t, actNone, a, "unknown action %q in %q", name, cell)
			actions = append(actions, a)
		}
		stateStr = cell[i+1:]
	}
	stateStr = strings.TrimRight(stateStr, "rpx")
	n, err := strconv.Atoi(stateStr)
	require.NoError(t, err, cell)
	return actions, State(n), true
}

// parseAction returns the action the table calls name, or actNone.
func parseAction(name string) action {
	for a := actNone + 1; a < numActions; a++ {
		if a.String() == name {
			return a
		}
	}
	return actNone
}

func TestActionNames(t *testing.T) {
	seen := map[string]bool{}
	for a := actNone + 1; a < numActions; a++ {
		name := a.String()
		assert.Len(t, name, 3, "%d", a)
		assert.False(t, seen[name], "%s twice", name)
		seen[name] = true
		assert.Equal(t, a, parseAction(name))
		assert.Equal(t, strings.HasPrefix(name, "tl"), a.layer(), name)
	}
	assert.Equal(t, "action(200)", action(200).String())
}

// recorder is a Rules and Layer that records what the automaton asks of it.
type recorder struct {
	layerCalls []action
	resets     int
	request    []byte
	verdict    Code
	naked      [][]byte
	rejected   [][]byte
	acked      int
	echoes     int
}

func (r *recorder) Reset()                          { r.resets++ }
func (r *recorder) AppendRequest(dst []byte) []byte { return append(dst, r.request...) }
func (r *recorder) CheckRequest(opts, dst []byte) (Code, []byte) {
	switch r.verdict {
	case ConfigureNak:
		return ConfigureNak, AppendOption(dst, 1, []byte{0x05, 0xdc})
	case ConfigureReject:
		return ConfigureReject, append(dst, opts...)
	}
	return ConfigureAck, append(dst, opts...)
}
func (r *recorder) Acked([]byte) { r.acked++ }
func (r *recorder) Naked(opts []byte) error {
	r.naked = append(r.naked, append([]byte(nil), opts...))
	return nil
}
func (r *recorder) Rejected(opts []byte) error {
	r.rejected = append(r.rejected, append([]byte(nil), opts...))
	return nil
}
func (r *recorder) Up()                     { r.layerCalls = append(r.layerCalls, actTLU) }
func (r *recorder) Down()                   { r.layerCalls = append(r.layerCalls, actTLD) }
func (r *recorder) Started()                { r.layerCalls = append(r.layerCalls, actTLS) }
func (r *recorder) Finished()               { r.layerCalls = append(r.layerCalls, actTLF) }
func (r *recorder) EchoReply(uint8, []byte) { r.echoes++ }

func codesOf(pkts [][]byte) []int {
	var c []int
	for _, p := range pkts {
		c = append(c, int(p[0]))
	}
	return c
}

// harness builds an FSM whose sent packets and actions are recorded.
type harness struct {
	f       *FSM
	r       *recorder
	sent    [][]byte
	actions []action
	now     time.Time
}

func newHarness(cfg Config) *harness {
	h := &harness{r: &recorder{request: []byte{1, 4, 0x05, 0xdc}}, now: time.Unix(1000, 0)}
	if cfg.EchoMagic == nil {
		cfg.EchoMagic = func() uint32 { return 0x11223344 }
	}
	h.f = New(cfg, h.r, h.r, func(pkt []byte) { h.sent = append(h.sent, append([]byte(nil), pkt...)) })
	h.f.actionHook = func(a action) { h.actions = append(h.actions, a) }
	return h
}

func (h *harness) reset() { h.sent, h.actions, h.r.layerCalls = nil, nil, nil }

// actionCodes maps send actions to the packet code they must put on the wire.
var actionCodes = map[action]Code{actSCR: ConfigureRequest, actSCA: ConfigureAck, actSCN: ConfigureNak,
	actSTR: TerminateRequest, actSTA: TerminateAck, actSCJ: CodeReject, actSER: EchoReply}

// TestTransitionTable checks every cell of RFC 1661's table: the new state, the actions in
// order, the packets sent, the layer callbacks, the restart counter and the restart timer.
func TestTransitionTable(t *testing.T) {
	const maxConf, maxTerm = 10, 2
	for ev := Up; ev <= RXR; ev++ {
		cells := rfcTable[ev]
		for s := Initial; s <= Opened; s++ {
			t.Run(fmt.Sprintf("%v/%v", ev, s), func(t *testing.T) {
				h := newHarness(Config{MaxConfigure: maxConf, MaxTerminate: maxTerm})
				f := h.f
				f.state = s
				f.restarts = 5
				switch ev {
				case TOPlus:
					f.restarts = 1
				case TOMinus:
					f.restarts = 0
				case RCRPlus:
					f.respCode, f.respID, f.resp = ConfigureAck, 7, []byte{1, 4, 5, 0xdc}
				case RCRMinus:
					f.respCode, f.respID, f.resp = ConfigureNak, 7, []byte{1, 4, 5, 0xdc}
				case RUC:
					f.resp = []byte{0x42, 7, 0, 4}
				case RXR:
					f.respCode, f.respID, f.resp = EchoRequest, 7, []byte{0, 0, 0, 0, 'h', 'i'}
				}
				f.deadline = h.now.Add(time.Second)
				f.handle(h.now, ev)

				want, next, legal := parseCell(t, cells[s])
				if !legal {
					assert.Equal(t, s, f.state, "illegal cell must not move")
					assert.Empty(t, h.actions)
					assert.Empty(t, h.sent)
					return
				}
				assert.Equal(t, next, f.state, "new state")
				assert.Equal(t, want, h.actions, "actions")

				var wantCodes []int
				var layer []action
				for _, a := range want {
					if c, ok := actionCodes[a]; ok {
						wantCodes = append(wantCodes, int(c))
					}
					if a.layer() {
						layer = append(layer, a)
					}
				}
				assert.Equal(t, wantCodes, codesOf(h.sent), "packets sent")
				assert.Equal(t, layer, h.r.layerCalls, "layer callbacks")

				// Restart counter: irc loads Max-Terminate when a str follows, else Max-Configure;
				// zrc zeroes it; every scr and str uses one transmission.
				wantRestarts := 5
				switch ev {
				case TOPlus:
					wantRestarts = 1
				case TOMinus:
					wantRestarts = 0
				}
				for _, a := range want {
					switch a {
					case actIRC:
						wantRestarts = maxConf
						if slices.Contains(want, actSTR) {
							wantRestarts = maxTerm
						}
					case actZRC:
						wantRestarts = 0
					case actSCR, actSTR:
						wantRestarts--
					}
				}
				assert.Equal(t, wantRestarts, f.restarts, "restart counter")

				switch next {
				case Closing, Stopping, ReqSent, AckRcvd, AckSent:
					assert.False(t, f.deadline.IsZero(), "restart timer must run in %v", next)
				default:
					assert.True(t, f.deadline.IsZero(), "restart timer must be stopped in %v", next)
				}
				if ev == RXR && s == Opened {
					require.Len(t, h.sent, 1)
					assert.Equal(t, uint32(0x11223344), binary.BigEndian.Uint32(h.sent[0][4:8]), "ser carries our magic")
					assert.Equal(t, "hi", string(h.sent[0][8:]))
				}
			})
		}
	}
}
