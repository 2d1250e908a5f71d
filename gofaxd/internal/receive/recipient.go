package receive

import (
	"net/url"
	"strings"

	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
)

// Recipient sources, as named in gofax.conf's recipientfrom.
const (
	SourceDiversion      = "diversion"
	SourceHistoryInfo    = "history-info"
	SourcePCalledPartyID = "p-called-party-id"
	SourceTo             = "to"
	SourceRequestURI     = "request-uri"
)

// sourceVars lists, per source, the channel variables mod_sofia may put
// the header in, tried in order. Headers carry URIs; sip_to_user and
// sip_req_user are already the user part.
var sourceVars = map[string][]string{
	SourceDiversion:      {"sip_h_Diversion", "sip_redirected_by"},
	SourceHistoryInfo:    {"sip_history_info", "sip_h_History-Info"},
	SourcePCalledPartyID: {"sip_P-Called-Party-ID", "sip_h_P-Called-Party-ID"},
	SourceTo:             {"sip_to_user"},
	SourceRequestURI:     {"sip_req_user"},
}

// FindRecipient returns the called number from the first source in
// sources that yields a valid one, and the name of that source. vars looks
// up a channel variable by name. ok is false when no source does.
func FindRecipient(vars func(string) string, sources []string) (number, source string, ok bool) {
	for _, src := range sources {
		for _, v := range sourceVars[src] {
			val := vars(v)
			if val == "" {
				continue
			}
			var n string
			if src == SourceTo || src == SourceRequestURI {
				n, ok = freeswitch.CallerNumber(val)
			} else {
				n, ok = headerNumber(val)
			}
			if ok {
				return n, src, true
			}
		}
	}
	return "", "", false
}

// headerNumber extracts the number from the first entry of a Diversion,
// History-Info or P-Called-Party-ID value, e.g.
// `"Office" <sip:+4930123@example.com;user=phone>;reason=unconditional`
// or `<tel:+49-30-123;phone-context=example.com>`. For Diversion the first
// entry is the party that redirected the call last (what GOfax.IP used);
// for History-Info it is the Request-URI the caller dialled.
func headerNumber(h string) (string, bool) {
	entry := firstEntry(h)
	uri := entry
	if i := strings.IndexByte(entry, '<'); i >= 0 {
		uri = entry[i+1:]
		j := strings.IndexByte(uri, '>')
		if j < 0 {
			return "", false
		}
		uri = uri[:j]
	} else if i := strings.IndexByte(entry, ';'); i >= 0 {
		uri = entry[:i] // bare URI: parameters belong to the header
	}
	uri = strings.TrimSpace(uri)
	scheme, rest, found := strings.Cut(uri, ":")
	if !found {
		return "", false
	}
	var user string
	switch strings.ToLower(scheme) {
	case "sip", "sips":
		u, _, hasHost := strings.Cut(rest, "@")
		if !hasHost {
			return "", false
		}
		user, _, _ = strings.Cut(u, ";")    // user parameters (;isub=, ;npdi)
		user, _, _ = strings.Cut(user, ":") // password, never a number
	case "tel":
		user, _, _ = strings.Cut(rest, ";")
		user = strings.Map(func(r rune) rune { // visual separators of RFC 3966
			if r == '-' || r == '.' || r == '(' || r == ')' {
				return -1
			}
			return r
		}, user)
	default:
		return "", false
	}
	if u, err := url.PathUnescape(user); err == nil {
		user = u
	}
	return freeswitch.CallerNumber(user)
}

// firstEntry returns the header value up to the first comma that is not
// inside <…> or a quoted display name.
func firstEntry(h string) string {
	inAngle, inQuote := false, false
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c == '"' && !inAngle:
			inQuote = !inQuote
		case c == '\\' && inQuote:
			i++
		case c == '<' && !inQuote:
			inAngle = true
		case c == '>' && !inQuote:
			inAngle = false
		case c == ',' && !inAngle && !inQuote:
			return h[:i]
		}
	}
	return h
}

// maxNameLen bounds a caller name: SIP display names are short; HylaFAX
// prints CallID lines of about this size.
const maxNameLen = 64

// CleanName makes a caller-controlled display name safe for argv, TIFF
// tags, xferfaxlog and FIFO records: control characters, quotes and
// backslashes become blanks, and it is cut at maxNameLen bytes (on a rune
// boundary).
func CleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' || r == '\t' || r == 0xfffd {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxNameLen {
		cut := maxNameLen
		for cut > 0 && (s[cut]&0xc0) == 0x80 {
			cut--
		}
		s = strings.TrimSpace(s[:cut])
	}
	return s
}
