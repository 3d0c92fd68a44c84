package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/pppdial/pppdial/at"
)

const replayUsage = `Usage: pppdial replay [--realtime] FILE|DIR...

Replays recorded modem transcripts (the format of testdata/transcripts, as --record writes them)
against the dialer: the transcript plays the modem, the dialer must write what was recorded and
reach the recorded outcome. Exit 0 when every replay matches, 1 otherwise.

Flags:
`

func cmdReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("replay", stderr, replayUsage)
	realtime := fs.Bool("realtime", false, "play the modem's answers at their recorded times")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	var files []string
	for _, arg := range fs.Args() {
		if st, err := os.Stat(arg); err == nil && st.IsDir() {
			matches, _ := filepath.Glob(filepath.Join(arg, "*.txt"))
			sort.Strings(matches)
			files = append(files, matches...)
			continue
		}
		files = append(files, arg)
	}
	failed := 0
	for _, f := range files {
		rep, err := at.ReplayFile(ctx, f, at.ReplayOptions{Realtime: *realtime})
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(stdout, "FAIL %s: %v\n", f, err)
		default:
			fmt.Fprintf(stdout, "ok   %s: %s (%d events, %s)\n", f, rep.Outcome, rep.Events, rep.Elapsed.Round(1e6))
		}
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "%d of %d transcripts did not replay\n", failed, len(files))
		return exitInternal
	}
	return exitOK
}
