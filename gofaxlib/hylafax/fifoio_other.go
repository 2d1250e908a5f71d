//go:build !linux

package hylafax

import "os"

// pipeQueued reports an empty pipe where it cannot be asked.
func pipeQueued(*os.File) (int, error) { return 0, nil }
