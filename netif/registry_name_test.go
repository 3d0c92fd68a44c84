package netif_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pppdial/pppdial/netif"
	"github.com/pppdial/pppdial/netif/netiftest"
)

func TestAddPPPWithName(t *testing.T) {
	reg := netif.NewRegistry()
	a, b := netiftest.Pipe(netiftest.Options{Queue: 4})
	defer a.Close()
	defer b.Close()
	n1, err := reg.AddPPP(a, netif.Options{Name: "pp3"})
	require.NoError(t, err)
	defer reg.Remove(n1)
	assert.Equal(t, "pp3", n1.Name())
	_, err = reg.AddPPP(b, netif.Options{Name: "pp3"})
	assert.ErrorIs(t, err, netif.ErrExists)
	n2, err := reg.AddPPP(b, netif.Options{})
	require.NoError(t, err)
	defer reg.Remove(n2)
	assert.Equal(t, "pp0", n2.Name(), "automatic names still take the lowest free number")
}
