package ppp

import (
	"crypto/md5"
	"crypto/subtle"
	"fmt"
	"time"
)

// authState is the Authenticate phase and CHAP re-challenges: PAP (RFC 1334) and CHAP-MD5
// (RFC 1994) in both directions. "verify" is the peer authenticating itself to us, "prove" is
// us authenticating to the peer; LCP decided which are needed.
type authState struct {
	verify, prove    AuthProto
	verified, proved bool
	deadline         time.Time // end of the Authenticate phase
	papID            uint8
	papTries         int
	papNext          time.Time // PAP Authenticate-Request retransmission
	chapID           uint8
	challenge        [16]byte
	chapTries        int
	chapNext         time.Time // CHAP Challenge retransmission (while waiting for a Response)
	chapWaiting      bool
	chapLastOK       bool      // result of the last verified Response (to answer duplicates)
	chapDone         bool      // a Response to chapID was verified
	rechallenge      time.Time // next CHAP re-challenge in the network phase
	respID           uint8     // identifier of our last CHAP Response
	responded        bool
}

func (a *authState) nextDeadline() time.Time {
	var d time.Time
	for _, t := range []time.Time{a.deadline, a.papNext, a.chapNext, a.rechallenge} {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	return d
}

// authStart begins the Authenticate phase with what LCP agreed: verify is what we demanded of
// the peer, prove what the peer demanded of us.
func (l *Link) authStart(verify, prove AuthProto) {
	l.auth = authState{verify: verify, prove: prove, verified: verify == AuthNone, proved: prove == AuthNone}
	if verify == AuthNone && prove == AuthNone {
		l.enterNetwork()
		return
	}
	l.setPhase(PhaseAuthenticate)
	l.auth.deadline = l.now.Add(l.cfg.AuthTimeout)
	if prove == AuthPAP {
		l.sendPAPRequest(true)
	}
	if verify == AuthCHAP {
		l.sendChallenge(true)
	}
}

// authProgress moves on to the network phase once both directions are done.
func (l *Link) authProgress() {
	if l.phase == PhaseAuthenticate && l.auth.verified && l.auth.proved {
		l.auth.deadline = time.Time{}
		l.enterNetwork()
	}
}

func (l *Link) authTick(now time.Time) {
	a := &l.auth
	if !a.deadline.IsZero() && !now.Before(a.deadline) {
		a.deadline = time.Time{}
		if l.phase != PhaseAuthenticate {
			// left the phase another way (closing): nothing to time out
		} else if !a.verified {
			l.fail(fmt.Errorf("%w: the peer did not authenticate itself", ErrAuthTimeout))
		} else {
			l.fail(fmt.Errorf("%w: no answer to our %v credentials", ErrAuthTimeout, a.prove))
		}
		return
	}
	if !a.papNext.IsZero() && !now.Before(a.papNext) {
		if a.papTries >= l.cfg.MaxConfigure {
			a.papNext = time.Time{}
			l.fail(fmt.Errorf("%w: no reply to PAP Authenticate-Request", ErrAuthTimeout))
			return
		}
		l.sendPAPRequest(false)
	}
	if a.chapWaiting && !a.chapNext.IsZero() && !now.Before(a.chapNext) {
		if a.chapTries >= l.cfg.MaxConfigure {
			a.chapNext, a.chapWaiting = time.Time{}, false
			l.fail(fmt.Errorf("%w: no response to CHAP Challenge", ErrAuthTimeout))
			return
		}
		l.sendChallenge(false)
	}
	if !a.rechallenge.IsZero() && !now.Before(a.rechallenge) {
		a.rechallenge = time.Time{}
		l.sendChallenge(true)
	}
}

// sendPAPRequest sends (first) or resends our Authenticate-Request. The same identifier is kept
// on retransmission so a late Ack still counts.
func (l *Link) sendPAPRequest(first bool) {
	a := &l.auth
	if first {
		a.papID++
		a.papTries = 0
	}
	a.papTries++
	a.papNext = l.now.Add(l.cfg.Restart)
	l.buf = appendPAPRequest(l.buf[:0], l.cfg.Username, l.cfg.Password)
	l.sendAuth(ProtoPAP, papRequest, a.papID, l.buf)
}

// sendChallenge sends a new CHAP Challenge (fresh identifier and random value) or resends the
// current one.
func (l *Link) sendChallenge(fresh bool) {
	a := &l.auth
	if fresh {
		a.chapID++
		a.chapTries = 0
		a.chapDone = false
		l.randBytes(a.challenge[:])
	}
	a.chapTries++
	a.chapWaiting = true
	a.chapNext = l.now.Add(l.cfg.Restart)
	l.buf = appendCHAP(l.buf[:0], a.challenge[:], l.cfg.Name)
	l.sendAuth(ProtoCHAP, chapChallenge, a.chapID, l.buf)
}

// sendAuth sends one PAP or CHAP packet (data is l.buf or a literal).
func (l *Link) sendAuth(protocol uint16, code, id uint8, data []byte) {
	var pkt [4 + 1 + 255 + 1 + 255]byte
	p := appendPacket(pkt[:0], code, id, data)
	l.sendControl(protocol, p)
}

// authPacket parses a PAP or CHAP packet, or counts it discarded when it is malformed or comes
// outside the phases authentication can happen in (Authenticate, and Network for CHAP's
// re-challenges and late retransmissions).
func (l *Link) authPacket(info []byte) (code, id uint8, data []byte, ok bool) {
	code, id, data, err := parsePacket(info)
	if err != nil || (l.phase != PhaseAuthenticate && l.phase != PhaseNetwork) {
		l.stats.Discarded++
		return 0, 0, nil, false
	}
	return code, id, data, true
}

func (l *Link) papInput(info []byte) {
	a := &l.auth
	code, id, data, ok := l.authPacket(info)
	if !ok {
		return
	}
	switch code {
	case papRequest:
		if a.verify != AuthPAP {
			l.stats.Discarded++
			return
		}
		user, pass, err := ParsePAPRequest(data)
		if err != nil {
			l.stats.Discarded++
			return
		}
		// Both compared in constant time, and both always compared, so timing tells nothing.
		okUser := equal(user, l.cfg.Username)
		okPass := equal(pass, l.cfg.Password)
		if okUser && okPass {
			l.sendAuth(ProtoPAP, papAck, id, append([]byte{8}, "Login ok"...))
			if !a.verified {
				a.verified = true
				l.status.Authenticated, l.status.AuthenticatedAs = AuthPAP, string(user)
				l.authProgress()
			}
			return
		}
		l.sendAuth(ProtoPAP, papNak, id, append([]byte{15}, "Login incorrect"...))
		l.fail(fmt.Errorf("%w: PAP: wrong name or password for %q", ErrAuthFailed, user))
	case papAck, papNak:
		if a.prove != AuthPAP || id != a.papID || a.proved {
			l.stats.Discarded++
			return
		}
		a.papNext = time.Time{}
		msg := ParsePAPReply(data)
		if code == papNak {
			l.fail(&AuthError{Protocol: "PAP", Message: string(msg)})
			return
		}
		a.proved = true
		l.authProgress()
	default:
		l.stats.Discarded++
	}
}

func (l *Link) chapInput(info []byte) {
	a := &l.auth
	code, id, data, ok := l.authPacket(info)
	if !ok {
		return
	}
	switch code {
	case chapChallenge:
		if a.prove != AuthCHAP {
			l.stats.Discarded++
			return
		}
		value, _, err := ParseCHAP(data)
		if err != nil {
			l.stats.Discarded++
			return
		}
		sum := CHAPResponse(id, l.cfg.Password, value)
		a.respID, a.responded = id, true
		l.buf = appendCHAP(l.buf[:0], sum[:], l.cfg.Username)
		l.sendAuth(ProtoCHAP, chapResponse, id, l.buf)
	case chapSuccess, chapFailure:
		if a.prove != AuthCHAP || !a.responded || id != a.respID {
			l.stats.Discarded++
			return
		}
		if code == chapFailure {
			l.fail(&AuthError{Protocol: "CHAP", Message: string(data)})
			return
		}
		if !a.proved {
			a.proved = true
			l.authProgress()
		}
	case chapResponse:
		if a.verify != AuthCHAP || id != a.chapID {
			l.stats.Discarded++
			return
		}
		if a.chapDone {
			// Our Success or Failure was lost and the peer repeats its Response.
			if a.chapLastOK {
				l.sendAuth(ProtoCHAP, chapSuccess, id, []byte("Welcome"))
			}
			return
		}
		value, name, err := ParseCHAP(data)
		if err != nil {
			l.stats.Discarded++
			return
		}
		want := CHAPResponse(id, l.cfg.Password, a.challenge[:])
		okValue := len(value) == md5.Size && subtle.ConstantTimeCompare(value, want[:]) == 1
		okName := equal(name, l.cfg.Username)
		a.chapWaiting, a.chapNext, a.chapDone, a.chapLastOK = false, time.Time{}, true, okValue && okName
		if !a.chapLastOK {
			l.sendAuth(ProtoCHAP, chapFailure, id, []byte("Access denied"))
			l.fail(fmt.Errorf("%w: CHAP: wrong response for %q", ErrAuthFailed, name))
			return
		}
		l.sendAuth(ProtoCHAP, chapSuccess, id, []byte("Welcome"))
		if l.cfg.ChapInterval > 0 {
			a.rechallenge = l.now.Add(l.cfg.ChapInterval)
		}
		if !a.verified {
			a.verified = true
			l.status.Authenticated, l.status.AuthenticatedAs = AuthCHAP, string(name)
			l.authProgress()
		}
	default:
		l.stats.Discarded++
	}
}
