package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// FaxView is the part of the REST API's fax resource (an event's payload)
// that e-mail receipts show. Keys missing from the payload stay empty.
type FaxView struct {
	ID              string `json:"id"`
	Direction       string `json:"direction"` // "in" or "out"
	Status          string `json:"status"`
	From            string `json:"from"`
	To              string `json:"to"`
	RemoteStationID string `json:"remote_station_id"`
	Pages           struct {
		Total       int `json:"total"`
		Transferred int `json:"transferred"`
	} `json:"pages"`
	Error *struct {
		Code int    `json:"code"`
		Text string `json:"text"`
	} `json:"error"`
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
	if v.Error != nil && v.Error.Code != 0 {
		result += fmt.Sprintf(" (code %d)", v.Error.Code)
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
