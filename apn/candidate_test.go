package apn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The database's passwords are credentials: no formatting of a Candidate shows them.
func TestCandidateRedactsPassword(t *testing.T) {
	const secret = "s3cr3t-pw"
	c := Candidate{APN: "internet", Username: "web", Password: secret, Auth: AuthCHAP, Providers: []string{"Vodafone"}}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("trying", "candidate", c)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("trying", "candidate", c)
	js, err := json.Marshal(c)
	require.NoError(t, err)
	for _, s := range []string{
		c.String(), fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprintf("%v", []Candidate{c}),
		logged.String(), string(js),
	} {
		assert.NotContains(t, s, secret)
		assert.Contains(t, s, "****", "says a password is set: %s", s)
		assert.Contains(t, s, "internet")
	}
	assert.Equal(t, `"internet" user "web" password **** auth chap (Vodafone)`, c.String())
	assert.Contains(t, logged.String(), `"candidate":{"apn":"internet","user":"web","password":"****","auth":"chap","providers":"Vodafone"}`)
	assert.JSONEq(t, `{"apn":"internet","username":"web","password":"****","auth":"chap","providers":["Vodafone"]}`, string(js))

	d := NetworkDefault()
	assert.Equal(t, "network default APN", d.String())
	assert.NotContains(t, fmt.Sprintf("%#v", d), "****", "no password, nothing to redact")
	r := Candidate{APN: "internet", Remembered: true}
	assert.Equal(t, `"internet" [remembered]`, r.String())
}

func TestAuthString(t *testing.T) {
	assert.Equal(t, "any", AuthAny.String())
	assert.Equal(t, "pap", AuthPAP.String())
	assert.Equal(t, "chap", AuthCHAP.String())
	assert.Equal(t, "auth(7)", Auth(7).String())
}
