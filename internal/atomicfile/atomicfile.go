// Package atomicfile replaces a file so that a crash at any moment leaves either the old file or
// the new one: the state files of pppdial (data usage, the APN that worked) must survive a power
// cut or a kill -9 on a gateway's SD card.
package atomicfile

import (
	"os"
	"path/filepath"
)

// TempInfix marks the temporary files Write creates beside path; one a crash left behind
// (between create and rename) is named path's base, TempInfix and a random suffix.
const TempInfix = ".tmp-"

// Write replaces path with data, mode 0600: a temporary file in the same directory, fsync,
// rename, then fsync of the directory so the rename itself is durable.
func Write(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+TempInfix+"*") // created 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir makes the renames and creations in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
