package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/pppdial/pppdial/internal/peers"
	"github.com/pppdial/pppdial/modemsim"
)

// TestCLIInteropPersistAgainstPPPDMaxconnect: the reference pppd ends every connection after
// 10 s (maxconnect 10) and the VM starts it again; `pppdial dial --persist` through an emulated
// modem bridged to the VM reports each end as `down` with the peer's reason and comes back up.
func TestCLIInteropPersistAgainstPPPDMaxconnect(t *testing.T) {
	vm := peers.PPPDVM(t, "maxconnect", "10")
	_ = vm.Port.Close() // only the modem's bridge may hold the VM's pty
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pppd console.log tail:\n%s", lastLines(vm.ConsoleLog(), 80))
		}
	})
	path := modemPTY(t, modemsim.EC25(), modemsim.BridgePTY(vm.PTY))

	p := start(t, nil, "dial", "--port", path, "--json", "--guard", "100ms", "--persist", "--holdoff", "1s")
	p.waitEvent("up", 120*time.Second)
	for cycle := 1; cycle <= 2; cycle++ {
		down := p.waitEvent("down", 30*time.Second)
		assert.Contains(t, down["reason"], "terminated by peer", "cycle %d", cycle)
		assert.Equal(t, "link-lost", down["code"])
		up := p.waitEvent("up", 60*time.Second)
		assert.Equal(t, "10.0.0.2", up["local"], "cycle %d", cycle)
	}
	stopAndCheck(t, p)
}
