package at

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pppdial/pppdial/apn"
)

// APNAuto as Config.APN finds the APN from the SIM (see dialAuto).
const APNAuto = "auto"

// ErrNoAPNWorked is wrapped by Dial's error when every APN candidate for the SIM's network was
// refused; it wraps the last attempt's error too.
var ErrNoAPNWorked = errors.New("no APN worked: set --apn (the provider's documentation names it)")

// dialAuto runs the APN and dial steps for APNAuto: it reads the IMSI (AT+CIMI), looks its
// network up in the provider database (package apn), puts the APN remembered in StateDir first,
// and tries the candidates in order — AT+CGDCONT, then ATD — moving to the next one when the
// network refuses the call (NO CARRIER, ERROR, a CME error to ATD or to AT+CGDCONT). Each
// candidate is one "apn" step, its detail naming the APN and the providers (never the
// password). A network the database does not list, or an IMSI the modem does not give, dials
// the modem's stored context as an empty APN does, and says why in the first "apn" step.
//
// Failures after CONNECT (PPP authentication, IPCP refused) are not told apart from a bad
// link here: the APN that gets the link up is remembered by the caller (Session.RememberAPN).
func (d *dialer) dialAuto(ctx context.Context) (*Session, error) {
	var imsi string
	var network apn.Network
	var cands []apn.Candidate
	err := d.run(ctx, StepAPN, func(ctx context.Context) (string, error) {
		var detail string
		var err error
		imsi, network, cands, detail, err = d.lookupAPN(ctx)
		return detail, err
	})
	if err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		return d.dialStep(ctx)
	}
	var last error
	for i, c := range cands {
		err := d.run(ctx, StepAPN, func(ctx context.Context) (string, error) {
			detail := fmt.Sprintf("trying %d/%d on %s/%s: %s", i+1, len(cands), network.MCC, network.MNC, c)
			_, err := d.cmd(ctx, StepAPN, d.cgdcont(c.APN), 0)
			d.apnName = c.APN
			return detail, err
		})
		var sess *Session
		if err == nil {
			sess, err = d.dialStep(ctx)
		}
		if err == nil {
			d.cfg.Logger.Info("at: APN found", "network", network.String(), "apn", c)
			sess.Info.APN = &c
			sess.imsi, sess.stateDir = imsi, d.cfg.StateDir
			return sess, nil
		}
		if ctx.Err() != nil || !refusedAPN(err) {
			return nil, err
		}
		last = err
	}
	return nil, &StepError{Step: StepAPN, Err: fmt.Errorf("%w (%d tried on %s): %w", ErrNoAPNWorked, len(cands), network, last)}
}

// lookupAPN reads the IMSI and returns the candidates to try, remembered one first; none when
// the stored context is to be dialed, with the reason in detail.
func (d *dialer) lookupAPN(ctx context.Context) (imsi string, network apn.Network, cands []apn.Candidate, detail string, err error) {
	info, err := d.cmd(ctx, StepAPN, "+CIMI", 0)
	if err != nil {
		if ctx.Err() != nil || d.p.failed() != nil {
			return "", network, nil, "", err
		}
		return "", network, nil, fmt.Sprintf("no IMSI from the modem (%v): the modem's stored context will be used", err), nil
	}
	for _, l := range info {
		l = strings.TrimSpace(strings.TrimPrefix(l, "+CIMI:"))
		if l != "" {
			imsi = l
			break
		}
	}
	network, cands, err = apn.Lookup(imsi)
	if err != nil {
		// Unknown network or an unreadable IMSI: the error says so and what happens instead.
		d.cfg.Logger.Warn("at: APN auto: "+err.Error(), "mcc", network.MCC)
		msg := err.Error()
		if errors.Is(err, apn.ErrInvalidIMSI) {
			msg += ": the modem's stored context will be used"
		}
		return imsi, network, nil, msg, nil
	}
	if d.cfg.StateDir != "" {
		var rerr error
		if cands, rerr = apn.Recall(d.cfg.StateDir, imsi, cands); rerr != nil {
			d.cfg.Logger.Warn("at: ignoring the remembered APN", "err", rerr)
		}
	}
	return imsi, network, cands, fmt.Sprintf("network %s: %d APNs to try", network, len(cands)), nil
}

// refusedAPN reports a failure that another APN may mend: the network or the modem refused
// the context or the call. A timeout, a dead port or a cancelled dial is not one.
func refusedAPN(err error) bool {
	var cme *CMEError
	return errors.Is(err, ErrNoCarrier) || errors.Is(err, ErrDialFailed) || errors.Is(err, ErrCommandFailed) ||
		errors.As(err, &cme)
}

// RememberAPN records in Config.StateDir the APN this session was dialed with (APNAuto), so the
// next Dial tries it first. Call it once the link is up: a CONNECT alone does not prove the APN
// right. Without APNAuto, a known network or a StateDir it does nothing.
func (s *Session) RememberAPN() error {
	if s.Info.APN == nil || s.stateDir == "" || s.imsi == "" {
		return nil
	}
	return apn.Remember(s.stateDir, s.imsi, *s.Info.APN)
}
