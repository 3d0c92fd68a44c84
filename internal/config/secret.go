package config

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxSecret bounds what ReadSecretFile reads: a PIN or a password, not a file someone pointed at
// by mistake.
const maxSecret = 4096

// ReadSecretFile returns the first line of the file at path, without its line ending. It refuses
// a file that its group or others may read or write, since the secret would be theirs too, and an
// empty first line. The error names the path and the fix, never the content.
func ReadSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%s has mode %#o, which lets group or others at the secret; chmod 600 %s", path, perm, path)
	}
	line, err := bufio.NewReader(io.LimitReader(f, maxSecret)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("%s: the first line is empty", path)
	}
	return line, nil
}
