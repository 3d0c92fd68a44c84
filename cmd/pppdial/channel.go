package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pppdial/pppdial"
	"github.com/pppdial/pppdial/internal/tty"
)

// channelSpec is one --channel: DLC dlci served as a pty linked at path.
type channelSpec struct {
	dlci int
	path string
}

// parseChannels reads --channel's N:PATH[,N:PATH...].
func parseChannels(s string) ([]channelSpec, error) {
	if s == "" {
		return nil, nil
	}
	var specs []channelSpec
	seen := map[int]bool{}
	for _, item := range strings.Split(s, ",") {
		n, path, ok := strings.Cut(strings.TrimSpace(item), ":")
		dlci, err := strconv.Atoi(n)
		switch {
		case !ok || path == "" || err != nil:
			return nil, fmt.Errorf("--channel %q: want N:PATH", item)
		case dlci < 3 || dlci > 61:
			return nil, fmt.Errorf("--channel %q: DLC %d: want 3..61 (1 and 2 carry AT and PPP)", item, dlci)
		case seen[dlci]:
			return nil, fmt.Errorf("--channel %q: DLC %d given twice", item, dlci)
		}
		seen[dlci] = true
		specs = append(specs, channelSpec{dlci, path})
	}
	return specs, nil
}

// serveChannel serves DLC spec.dlci on a pty whose slave is linked at spec.path, for a program
// such as gpsd, until ctx ends. The pty stays while the channel comes and goes (a redial that
// restarts the multiplexer): the reader sees a pause, not a vanished device.
func serveChannel(ctx context.Context, sess *pppdial.Session, spec channelSpec, rep *reporter) error {
	master, slave, err := tty.OpenPTY()
	if err != nil {
		return fmt.Errorf("--channel %d: %w", spec.dlci, err)
	}
	_ = os.Remove(spec.path) // a link left by an earlier run
	if err := os.Symlink(slave.Name(), spec.path); err != nil {
		_ = master.Close()
		_ = slave.Close()
		return fmt.Errorf("--channel %d: %w", spec.dlci, err)
	}
	go func() {
		defer func() {
			_ = os.Remove(spec.path)
			_ = master.Close()
			_ = slave.Close()
		}()
		for ctx.Err() == nil {
			octx, cancel := context.WithTimeout(ctx, 10*time.Second)
			ch, err := sess.Channel(octx, spec.dlci)
			cancel()
			if err != nil {
				rep.line("channel %d: %v (trying again)", spec.dlci, err)
			} else {
				rep.line("%-22s %8s  DLC %d at %s (%s)", "channel", "", spec.dlci, spec.path, slave.Name())
				copyBoth(ctx, ch, master)
			}
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
		}
	}()
	return nil
}

// copyBoth copies between the channel and the pty until the channel ends or ctx does; the pty
// stays open.
func copyBoth(ctx context.Context, ch io.ReadWriteCloser, master *os.File) {
	stop := context.AfterFunc(ctx, func() { _ = ch.Close() })
	defer stop()
	stopped := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 4096)
		for {
			if err := master.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
				return
			}
			n, err := master.Read(buf)
			if n > 0 {
				if _, werr := ch.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
			select {
			case <-stopped:
				return
			default:
			}
		}
	}()
	_, _ = io.Copy(master, ch)
	close(stopped)
	_ = ch.Close()
	wg.Wait()
}
