package apn

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/apn/internal/gen"
)

const dbPath = "/usr/share/mobile-broadband-provider-info/serviceproviders.xml"

// The committed table is what the generator makes of the installed database, byte for byte.
func TestTableReproducible(t *testing.T) {
	f, err := os.Open(dbPath)
	if os.IsNotExist(err) {
		t.Skipf("%s absent: install Debian's %s to check table_gen.go", dbPath, gen.Source)
	}
	require.NoError(t, err)
	defer f.Close()
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", gen.Source).Output()
	require.NoError(t, err, "dpkg-query for the installed database's version")
	if v := strings.TrimSpace(string(out)); v != dbVersion {
		t.Skipf("installed %s is %s, the table is built from %s: run go generate ./apn to move to it", gen.Source, v, dbVersion)
	}
	want, err := gen.Generate(f, dbVersion)
	require.NoError(t, err)
	got, err := os.ReadFile("table_gen.go")
	require.NoError(t, err)
	if !bytes.Equal(want, got) {
		t.Fatalf("table_gen.go differs from what the generator makes of %s %s (%d bytes, generated %d): run go generate ./apn",
			gen.Source, dbVersion, len(got), len(want))
	}
}

func TestTableShape(t *testing.T) {
	assert.Equal(t, "20230416-1", DBVersion())
	assert.Equal(t, "", str(0))
	for i := 1; i < len(strOff); i++ {
		require.LessOrEqual(t, strOff[i-1], strOff[i])
	}
	assert.Equal(t, len(strs), int(strOff[len(strOff)-1]))
	for _, p := range providers {
		assert.NotEmpty(t, str(p.name))
		assert.Len(t, str(p.country), 2)
		assert.LessOrEqual(t, int(p.apn)+int(p.napn), len(apns))
	}
	for _, n := range networks {
		assert.LessOrEqual(t, int(n.prov)+int(n.nprov), len(netProviders))
		assert.NotZero(t, n.nprov)
	}
}
