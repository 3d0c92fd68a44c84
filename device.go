package pppdial

import (
	"sync"

	"github.com/pppdial/pppdial/ppp"
)

// linkDevice is the pp<N> interface's Device across redials: each dial makes a new ppp.Conn,
// but the interface, its name and its stack stay, so programs keep using "pp0".
type linkDevice struct {
	mu      sync.RWMutex
	conn    *ppp.Conn
	handler func(pkt []byte)
}

// WritePacket sends pkt on the current link, or fails with ppp.ErrNotUp between links.
func (d *linkDevice) WritePacket(pkt []byte) error {
	d.mu.RLock()
	c := d.conn
	d.mu.RUnlock()
	if c == nil {
		return ppp.ErrNotUp
	}
	return c.WritePacket(pkt)
}

// SetPacketHandler installs h on the current link and on every later one.
func (d *linkDevice) SetPacketHandler(h func(pkt []byte)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.handler = h
	if d.conn != nil {
		d.conn.SetPacketHandler(h)
	}
}

// attach makes c the current link (nil: none).
func (d *linkDevice) attach(c *ppp.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		d.conn.SetPacketHandler(nil)
	}
	d.conn = c
	if c != nil {
		c.SetPacketHandler(d.handler)
	}
}
