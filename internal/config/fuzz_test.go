package config_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/pppdial/pppdial/internal/config"
)

// FuzzParse feeds arbitrary bytes to Parse: it must return a valid File or an *Error whose every
// issue has a line inside the file, and never panic.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("testdata/two-links.toml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("[[link]]\nport = \"/dev/ttyUSB0\"\n[[link]]\nport = \"/dev/ttyUSB0\"\n"))
	f.Add([]byte("[egress]\ntun = true\n[[link]]\nport = 'a'\nifname = \"pp0\"\nbaud = \"x\"\n"))
	f.Add([]byte("link = [{port = \"a\"}, {port = \"b\", init = [1, 2.5, true]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := config.Parse("fuzz.toml", data, schema())
		lines := bytes.Count(data, []byte("\n")) + 1
		if err != nil {
			var cerr *config.Error
			if !errors.As(err, &cerr) || len(cerr.Issues) == 0 {
				t.Fatalf("not an *Error with issues: %v", err)
			}
			for _, i := range cerr.Issues {
				if i.Line < 0 || i.Line > lines {
					t.Fatalf("line %d outside the file's %d lines: %v", i.Line, lines, i)
				}
				if i.Error() == "" || i.Err == nil {
					t.Fatalf("an issue without a reason: %#v", i)
				}
			}
			return
		}
		if len(file.Links) == 0 || file.Egress == nil {
			t.Fatalf("a valid file without links or egress")
		}
		seen := map[string]bool{}
		for _, l := range file.Links {
			if l.Port == "" || l.Line < 1 || l.Line > lines {
				t.Fatalf("link %v: port %q, line %d", l, l.Port, l.Line)
			}
			if seen[l.ID()] {
				t.Fatalf("two links are %s", l.ID())
			}
			seen[l.ID()] = true
			if err := l.Apply(newLinkFlags()); err != nil {
				t.Fatalf("a valid link does not apply: %v", err)
			}
		}
		if c := config.Diff(file, file); len(c.Unchanged) != len(file.Links) || c.EgressChanged {
			t.Fatalf("a file differs from itself: %+v", c)
		}
	})
}
