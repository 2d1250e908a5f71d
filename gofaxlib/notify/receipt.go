package notify

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// FaxView is the part of the REST API's fax resource (an event's payload)
// that e-mail receipts show. Keys missing from the payload stay empty.
type FaxView struct {
	ID              string `json:"id"`
	Direction       string `json:"direction"` // "inbound" or "outbound"
	Status          string `json:"status"`
	From            string `json:"from"`
	To              string `json:"to"`
	RemoteStationID string `json:"remote_station_id"`
	Pages           struct {
		Total       int `json:"total"`
		Transferred int `json:"transferred"`
	} `json:"pages"`
	Error *struct {
		Code ErrorCode `json:"code"`
		Text string    `json:"text"`
	} `json:"error"`
}

// ErrorCode is the code of a fax resource's error: a name such as
// "CALLDROPPED" or "USER_BUSY" (gofaxlib.FaxError), or a number (a T.30
// result code), kept as its decimal text.
type ErrorCode string

// UnmarshalJSON accepts a JSON string or number.
func (c *ErrorCode) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*c = ErrorCode(n.String())
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("notify: error code %s is neither a string nor a number", b)
	}
	*c = ErrorCode(s)
	return nil
}

// codeName matches the error codes a receipt shows next to the text: T.30
// result names and hangup causes. Words such as "hylafax" or "canceled"
// say nothing the text does not.
var codeName = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,40}$`)

// suffix returns what follows the result text: " (code 49)" for a number
// other than 0, " (USER_BUSY)" for a name, else "".
func (c ErrorCode) suffix() string {
	s := string(c)
	if n, err := strconv.Atoi(s); err == nil {
		if n == 0 {
			return ""
		}
		return fmt.Sprintf(" (code %d)", n)
	}
	if codeName.MatchString(s) {
		return " (" + s + ")"
	}
	return ""
}

// maxPayload bounds the payload parsed for an e-mail: a fax resource is a
// few KiB, its attempt list included.
const maxPayload = 1 << 20

// ParseFaxView reads the fields of a fax resource an e-mail shows.
func ParseFaxView(payload []byte) (FaxView, error) {
	var v FaxView
	if len(payload) > maxPayload {
		return v, fmt.Errorf("notify: fax resource of %d bytes", len(payload))
	}
	if len(payload) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(payload, &v); err != nil {
		return v, fmt.Errorf("notify: fax resource: %w", err)
	}
	return v, nil
}

// Receipt renders the subject and plain-text body of an e-mail receipt for
// ev: from, to, pages, result and time, the time in the tenant's zone.
func Receipt(ev gofaxlib.Event) (subject, body string, err error) {
	v, err := ParseFaxView(ev.Payload)
	if err != nil {
		return "", "", err
	}
	loc := time.UTC
	if ev.TimeZone != "" {
		if l, err := time.LoadLocation(ev.TimeZone); err == nil {
			loc = l
		}
	}
	from, to := orUnknown(v.From), orUnknown(v.To)
	pages := fmt.Sprintf("%d", v.Pages.Transferred)
	if v.Pages.Total > v.Pages.Transferred {
		pages = fmt.Sprintf("%d of %d", v.Pages.Transferred, v.Pages.Total)
	}
	npages := pages + " pages"
	if pages == "1" {
		npages = "1 page"
	}
	var result string
	switch ev.Type {
	case gofaxlib.EventReceived, gofaxlib.EventDelivered:
		result = "OK"
	case gofaxlib.EventCanceled:
		result = "Canceled"
	case gofaxlib.EventRetrying:
		result = "Retrying"
	default:
		result = "Failed"
	}
	if v.Error != nil && v.Error.Text != "" {
		result = v.Error.Text
	}
	if v.Error != nil {
		result += v.Error.Code.suffix()
	}
	var headline string
	switch ev.Type {
	case gofaxlib.EventReceived:
		headline = "Fax received"
		subject = fmt.Sprintf("Fax received from %s (%s)", from, npages)
		if v.Pages.Total > v.Pages.Transferred {
			headline = "Fax received in part"
		}
	case gofaxlib.EventReceiveFailed:
		headline = "Fax reception failed"
		subject = fmt.Sprintf("Fax reception from %s failed", from)
	case gofaxlib.EventDelivered:
		headline = "Fax delivered"
		subject = fmt.Sprintf("Fax to %s delivered (%s)", to, npages)
	case gofaxlib.EventFailed:
		headline = "Fax could not be delivered"
		subject = fmt.Sprintf("Fax to %s failed", to)
	case gofaxlib.EventCanceled:
		headline = "Fax canceled"
		subject = fmt.Sprintf("Fax to %s canceled", to)
	case gofaxlib.EventRetrying:
		headline = "Fax attempt failed, retrying"
		subject = fmt.Sprintf("Fax to %s: attempt failed, retrying", to)
	default:
		headline = "Fax event " + string(ev.Type)
		subject = headline
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s.\n\n", headline)
	row := func(k, v string) { fmt.Fprintf(&b, "%-9s %s\n", k+":", v) }
	row("From", from)
	if v.RemoteStationID != "" {
		row("Station", v.RemoteStationID)
	}
	row("To", to)
	row("Pages", pages)
	row("Result", result)
	row("Time", ev.Time.In(loc).Format("Mon, 02 Jan 2006 15:04:05 MST")+" ("+loc.String()+")")
	row("Fax ID", orUnknown(firstNonEmpty(v.ID, ev.FaxID)))
	row("Event", ev.ID)
	return subject, b.String(), nil
}

func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "unknown"
	}
	return s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
