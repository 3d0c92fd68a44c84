//go:build !linux

package main

import (
	"errors"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/netif"
)

type tunAttachment struct{}

func newTunAttachment(string, bool, bool) (*tunAttachment, error) {
	return nil, errors.New("--tun is supported on Linux only")
}

func (*tunAttachment) Attach(netif.Device) error { return errors.ErrUnsupported }
func (*tunAttachment) Event(pppdial.Event)       {}
func (*tunAttachment) Close() error              { return nil }
func (*tunAttachment) setDefault(bool)           {}

func (*tunAttachment) ipv6Up(e pppdial.Event, report func(pppdial.Event)) { report(e) }
