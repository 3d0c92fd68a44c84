package cell

import (
	"context"
	"testing"
)

func BenchmarkParseQENG(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(qengEC2x[0])))
	for b.Loop() {
		if _, err := ParseQENG(qengEC2x); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPoll is one EC25 poll of six answers, merged: the monitor's cost per interval.
func BenchmarkPoll(b *testing.B) {
	m := &fakeModem{answers: map[string][]string{"AT+CSQ": {"+CSQ: 20,99"}, "AT+CESQ": cesqLTE, "AT+COPS?": copsVM,
		"AT+CREG?": {"+CREG: 0,1"}, "AT+CEREG?": {ceregEC2x}, `AT+QENG="servingcell"`: qengEC2x}}
	p := NewPoller(func(ctx context.Context, cmd string) ([]string, error) { return m.answers[cmd], nil }, Plan(FamilyEC25), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Poll(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
