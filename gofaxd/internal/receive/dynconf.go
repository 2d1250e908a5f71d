package receive

import (
	"io/fs"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hook"
)

// CallConfig is what DynamicConfig may change for one call. Its output
// uses HylaFAX's config syntax, one "Tag: value" a line; the tags are
// faxgetty's where one exists.
type CallConfig struct {
	Reject     bool   // RejectCall: refuse the call (SIP response ScreenResponse)
	Ident      string // LocalIdentifier: our CSI
	EnableT38  *bool  // EnableT38 (gofaxd): fax_enable_t38
	RequestT38 *bool  // RequestT38 (gofaxd): fax_enable_t38_request
	FaxRcvdCmd string // FaxRcvdCmd: the script run after the reception
	FileMode   fs.FileMode
	// Ignored lists tags this call cannot use, for the log.
	Ignored []string
}

// maxIdentLen is T.30's limit for a station identifier (CSI/TSI).
const maxIdentLen = 20

// safeIdent makes a station identifier safe to send in "set fax_ident=":
// CleanName blanks control characters, quotes and backslashes;
// FreeSWITCH expands ${...} (api, system) in application arguments, so
// freeswitch.SafeValue blanks $ { } and the other characters it refuses;
// then the result is cut to maxIdentLen bytes on a rune boundary.
func safeIdent(s string) string {
	s = freeswitch.SafeValue(CleanName(s))
	if len(s) > maxIdentLen {
		cut := maxIdentLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = strings.TrimSpace(s[:cut])
	}
	return s
}

// ParseCallConfig reads DynamicConfig output (see hook.ParseConfigOutput).
func ParseCallConfig(out []byte) CallConfig {
	var c CallConfig
	vals := hook.ParseConfigOutput(out)
	for _, v := range vals {
		switch v.Key {
		case "rejectcall", "localidentifier", "enablet38", "requestt38", "faxrcvdcmd":
		case "recvfilemode":
			if m, err := strconv.ParseUint(v.Value, 8, 32); err == nil && m <= 0o777 {
				c.FileMode = fs.FileMode(m)
			} else {
				c.Ignored = append(c.Ignored, "recvfilemode="+v.Value)
			}
		default:
			c.Ignored = append(c.Ignored, v.Key)
		}
	}
	c.Reject = vals.Bool("RejectCall")
	if id, ok := vals.Get("LocalIdentifier"); ok {
		c.Ident = safeIdent(id)
	}
	if _, ok := vals.Get("EnableT38"); ok {
		c.EnableT38 = ptr(vals.Bool("EnableT38"))
	}
	if _, ok := vals.Get("RequestT38"); ok {
		c.RequestT38 = ptr(vals.Bool("RequestT38"))
	}
	c.FaxRcvdCmd, _ = vals.Get("FaxRcvdCmd")
	return c
}
