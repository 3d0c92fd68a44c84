// Package pcap records PPP frames in pcap files that Wireshark and tshark decode, with the
// direction of every frame, using gopacket's pcapgo.
//
// The link type is PPP_WITH_DIR (204): each record is a one-byte direction (0x00 received by this
// host, 0x01 sent by this host) followed by the PPP frame in HDLC-like framing without flags,
// escapes or FCS: address 0xff, control 0x03, a 2-byte protocol and the information field.
// Frames are always recorded uncompressed (full header, 2-byte protocol) whatever ACFC and PFC
// negotiated on the wire, so every record decodes the same way.
package pcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// LinkTypePPPWithDir is LINKTYPE_PPP_WITH_DIR: PPP preceded by a direction byte.
const LinkTypePPPWithDir layers.LinkType = 204

// SnapLen is the largest record kept; longer frames are truncated in the file (their original
// length is still recorded). It covers any MRU up to 65531.
const SnapLen = 65535

// headerLen is the direction byte, address, control and the 2-byte protocol.
const headerLen = 5

// Direction says which way a frame went, seen from this host.
type Direction uint8

// Directions as PPP_WITH_DIR encodes them.
const (
	// Received marks a frame the peer sent to us.
	Received Direction = 0x00
	// Sent marks a frame we sent to the peer.
	Sent Direction = 0x01
)

// String returns "received" or "sent".
func (d Direction) String() string {
	switch d {
	case Received:
		return "received"
	case Sent:
		return "sent"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// ErrClosed is returned by WriteFrame after Close.
var ErrClosed = errors.New("pcap: writer closed")

// Writer writes a pcap stream of PPP frames. It is safe for concurrent use: records never
// interleave. Each WriteFrame hands one complete record to the underlying writer in a single
// Write, so a capture cut short (crash, kill) ends on a record boundary.
//
// After the first error every later call returns that error.
type Writer struct {
	mu     sync.Mutex
	bw     *bufio.Writer
	pw     *pcapgo.Writer
	closer io.Closer // set by Create: the file the Writer owns
	rec    []byte    // reused record buffer
	err    error
	closed bool
}

// NewWriter writes the pcap file header (nanosecond timestamps, link type PPP_WITH_DIR) to w and
// returns a Writer for the records. Close does not close w.
func NewWriter(w io.Writer) (*Writer, error) {
	bw := bufio.NewWriterSize(w, 4096)
	pw := pcapgo.NewWriterNanos(bw)
	if err := pw.WriteFileHeader(SnapLen, LinkTypePPPWithDir); err != nil {
		return nil, fmt.Errorf("pcap: file header: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("pcap: file header: %w", err)
	}
	return &Writer{bw: bw, pw: pw}, nil
}

// Create creates (or truncates) the file at path and returns a Writer that owns it: Close closes
// the file.
func Create(path string) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("pcap: %w", err)
	}
	w, err := NewWriter(f)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	w.closer = f
	return w, nil
}

// WriteFrame records one PPP frame: its time, direction, protocol (e.g. 0xc021 LCP, 0x8021 IPCP,
// 0x0021 IPv4) and information field (the packet after the protocol, without FCS). info is not
// retained.
func (w *Writer) WriteFrame(t time.Time, dir Direction, protocol uint16, info []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	length := headerLen + len(info)
	w.rec = append(w.rec[:0], byte(dir), 0xff, 0x03, 0, 0)
	binary.BigEndian.PutUint16(w.rec[3:5], protocol)
	w.rec = append(w.rec, info...)
	if len(w.rec) > SnapLen {
		w.rec = w.rec[:SnapLen]
	}
	ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(w.rec), Length: length}
	if err := w.pw.WritePacket(ci, w.rec); err != nil {
		w.err = fmt.Errorf("pcap: write frame: %w", err)
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("pcap: write frame: %w", err)
		return w.err
	}
	return nil
}

// Flush writes out anything buffered. WriteFrame already hands each record to the underlying
// writer; Flush exists for writers wrapped around one that buffers itself, and for symmetry.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("pcap: flush: %w", err)
	}
	return w.err
}

// Close flushes and ends the Writer; later WriteFrame calls return ErrClosed. It closes the file
// only for a Writer made by Create. Closing twice returns nil.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	var errs []error
	if w.err == nil {
		if err := w.bw.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("pcap: flush: %w", err))
		}
	}
	if w.closer != nil {
		if err := w.closer.Close(); err != nil {
			errs = append(errs, fmt.Errorf("pcap: close: %w", err))
		}
	}
	return errors.Join(errs...)
}
