package pppdial

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/at"
	"github.com/pppdial/pppdial/internal/serialline"
	"github.com/pppdial/pppdial/modemsim"
	"github.com/pppdial/pppdial/ppp"
)

// TestSessionAPNAutoUsesTheDatabaseCredentials: BASE Belgium (206/20) lists "gprs.base.be"
// first and "web.be" with user and password "web" second; the network takes only "web.be" and
// its PPP demands PAP with those credentials. With no --user given, the session authenticates
// with the candidate's, and remembers the candidate once the link is up.
func TestSessionAPNAutoUsesTheDatabaseCredentials(t *testing.T) {
	t.Parallel()
	p := modemsim.EC25()
	p.IMSI, p.AcceptAPN = "206201234567890", "web.be"
	r := newRig(t, p, serialline.Options{})
	r.setData(modemsim.PPPServer(ppp.Config{RequireAuth: ppp.AuthPAP, Username: "web", Password: "web"}, nil))
	state := t.TempDir()
	cfg := r.config()
	cfg.Modem.APN, cfg.Modem.StateDir = at.APNAuto, state
	r.dial(cfg)

	var details []string
	deadline := time.After(5 * time.Second)
	for {
		var e Event
		select {
		case e = <-r.events:
		case <-deadline:
			t.Fatal("no up event")
		}
		if e.Kind == EventProgress && e.Step == string(at.StepAPN) && e.Done {
			details = append(details, e.Detail)
		}
		if e.Kind == EventUp {
			break
		}
	}
	require.Len(t, details, 3, "%q", details)
	assert.Contains(t, details[2], `"web.be" user "web" password ****`, "the password is never shown")
	for _, d := range details {
		assert.False(t, strings.Contains(d, `password "web"`), d)
	}
	files, err := filepath.Glob(filepath.Join(state, "apn-*.json"))
	require.NoError(t, err)
	assert.Len(t, files, 1, "remembered once the link is up")
}
