package freeswitch

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrNoChannel means FreeSWITCH knows no channel with that UUID (it ended
// already).
var ErrNoChannel = errors.New("freeswitch: no such channel")

var (
	uuidRe  = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
	causeRe = regexp.MustCompile(`^[A-Z0-9_]{1,64}$`)
)

// Kill hangs up the channel uuid ("uuid_kill <uuid> [cause]"); cause is a
// hangup cause name such as NORMAL_CLEARING or ALLOTTED_TIMEOUT, or "" for
// FreeSWITCH's default.
func Kill(ctx context.Context, api API, uuid, cause string) error {
	if !uuidRe.MatchString(uuid) {
		return fmt.Errorf("freeswitch: uuid_kill: invalid uuid %q", uuid)
	}
	cmd := "uuid_kill " + uuid
	if cause != "" {
		if !causeRe.MatchString(cause) {
			return fmt.Errorf("freeswitch: uuid_kill: invalid cause %q", cause)
		}
		cmd += " " + cause
	}
	out, err := api.API(ctx, cmd)
	text := strings.TrimRight(out, "\r\n")
	switch {
	case strings.HasPrefix(text, "-ERR No such channel"):
		return ErrNoChannel
	case strings.HasPrefix(text, "-ERR"):
		return fmt.Errorf("freeswitch: %s: %s", cmd, text)
	case err != nil:
		return fmt.Errorf("freeswitch: %s: %w", cmd, err)
	}
	return nil
}
