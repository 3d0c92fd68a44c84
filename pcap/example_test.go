package pcap_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/pppdial/pppdial/pcap"
)

// Record an LCP exchange; a real program plugs WriteFrame into the link's frame hook and writes
// to a file (pcap.Create), then opens it with `tshark -r link.pcap -V` or Wireshark.
func Example() {
	var file bytes.Buffer
	w, err := pcap.NewWriter(&file)
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	confReq := []byte{1, 1, 0, 10, 5, 6, 0x12, 0x34, 0x56, 0x78} // Configure-Request, magic
	_ = w.WriteFrame(now, pcap.Sent, 0xc021, confReq)
	confAck := append([]byte{2}, confReq[1:]...)
	_ = w.WriteFrame(now.Add(40*time.Millisecond), pcap.Received, 0xc021, confAck)
	if err := w.Close(); err != nil {
		panic(err)
	}
	// 24-byte file header, then per frame a 16-byte record header, the direction byte, ff 03,
	// the protocol and the packet.
	fmt.Println(file.Len(), "bytes")
	fmt.Printf("% x\n", file.Bytes()[24+16:24+16+15])
	// Output:
	// 86 bytes
	// 01 ff 03 c0 21 01 01 00 0a 05 06 12 34 56 78
}
