package main

import (
	"fmt"
	"os"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hook"
)

// leaveRealRoot ends the mix of ids faxq starts its send program with
// (real uid 0, effective uid uucp): the process becomes its effective user
// in every id, with that user's groups, so neither it nor any program it
// starts can take root back. gofaxsend needs no root: the spool, the
// FIFOs and /etc/gofax.conf (group uucp) are all reachable as uucp.
func leaveRealRoot() error {
	if os.Getuid() != 0 || os.Geteuid() == 0 {
		return nil
	}
	id, err := hook.UserIdentity(uint32(os.Geteuid()), uint32(os.Getegid()))
	if err != nil {
		return err
	}
	if err := id.Become(); err != nil {
		return fmt.Errorf("gofaxsend: leave faxq's real uid 0: %w", err)
	}
	return nil
}

// becomeSpoolOwner makes a gofaxsend started as root by hand the owner of
// the spool (uucp), as faxq would have run it; it does nothing otherwise.
func becomeSpoolOwner(spool string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	id, err := hook.Owner(spool)
	if err != nil {
		return err
	}
	if err := id.Become(); err != nil {
		return fmt.Errorf("gofaxsend: become the spool's owner: %w", err)
	}
	return nil
}
