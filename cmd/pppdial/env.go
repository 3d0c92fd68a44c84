package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// envName is the environment variable that sets a flag: PPPDIAL_ and the flag's name in upper
// case with dashes as underscores (--lcp-echo-interval -> PPPDIAL_LCP_ECHO_INTERVAL). Secrets
// given this way stay out of the process list, which every user of the machine can read.
func envName(flagName string) string {
	return "PPPDIAL_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseWithEnv applies environment variables to fs's flags, then the command line, which wins.
func parseWithEnv(fs *flag.FlagSet, args []string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := os.LookupEnv(envName(f.Name)); ok && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = &envError{name: envName(f.Name), err: e}
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}

// envError is a bad value in a PPPDIAL_* variable. The flag package reports its own errors; this
// one the caller prints.
type envError struct {
	name string
	err  error
}

func (e *envError) Error() string { return fmt.Sprintf("environment %s: %v", e.name, e.err) }
func (e *envError) Unwrap() error { return e.err }
