// Command apngen compiles mobile-broadband-provider-info's serviceproviders.xml into package apn's
// table_gen.go. Run it through "go generate ./apn"; it reads the installed Debian package by
// default and writes the package's version into the file.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/pppdial/pppdial/apn/internal/gen"
)

func main() {
	in := flag.String("in", "/usr/share/mobile-broadband-provider-info/serviceproviders.xml", "serviceproviders.xml to compile")
	out := flag.String("o", "table_gen.go", "Go file to write")
	version := flag.String("version", "", "database version for the header (default: the installed Debian package's)")
	flag.Parse()
	if err := run(*in, *out, *version); err != nil {
		fmt.Fprintln(os.Stderr, "apngen:", err)
		os.Exit(1)
	}
}

func run(in, out, version string) error {
	if version == "" {
		v, err := exec.Command("dpkg-query", "-W", "-f=${Version}", gen.Source).Output()
		if err != nil {
			return fmt.Errorf("no -version given and dpkg-query cannot tell the installed %s's: %w", gen.Source, err)
		}
		version = strings.TrimSpace(string(v))
	}
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	src, err := gen.Generate(f, version)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
