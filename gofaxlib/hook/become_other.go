//go:build !linux

package hook

import "errors"

// Become makes the calling process id; it is implemented on Linux only.
func (id Identity) Become() error {
	return errors.New("hook: changing the process's ids is implemented on Linux only")
}
