//go:build !linux

package hylafax

import (
	"errors"
	"os"
)

// startWriteback does nothing where sync_file_range does not exist.
func startWriteback(*os.File) {}

// syncFS reports that syncfs does not exist here: callers then sync
// file by file.
func syncFS(*os.File) error { return errors.ErrUnsupported }
