package receipts

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/faxdoc"
)

// The report page: A4, in points.
const (
	a4Width  = 595.28
	a4Height = 841.89
	margin   = 56.0
)

// Report writes the one-page transmission report of a fax, like a fax
// machine's confirmation page: what happened (received, delivered,
// failed), from, to, the remote station, pages, result, when (in loc,
// the tenant's zone) and, when im is not nil, page 1 scaled down into a
// framed box — the CCITT image placed as it is, not decoded.
func Report(w io.Writer, r gofaxlib.FaxResource, ev gofaxlib.Event, loc *time.Location, im *faxdoc.FaxImage) error {
	d := faxdoc.NewPDF(w)
	p := d.AddPage(a4Width, a4Height)
	title := "Fax transmission report"
	if r.Direction == gofaxlib.Inbound {
		title = "Fax reception report"
	}
	y := a4Height - margin - 18
	p.Text(margin, y, 18, title)
	y -= 26
	p.Text(margin, y, 12, headline(r, ev.Type))
	y -= 12
	p.Rect(margin, y, a4Width-2*margin, 0.1, 0.5)

	rows := [][2]string{
		{"From", orDash(joinNonEmpty(r.From, quoted(r.CallerIDName)))},
		{"To", orDash(r.To)},
		{"Remote station", orDash(r.RemoteStationID)},
		{"Pages", pages(r.Pages)},
		{"Result", result(r, ev.Type)},
		{"Time", ev.Time.In(loc).Format("Mon, 02 Jan 2006 15:04:05 MST") + " (" + loc.String() + ")"},
	}
	if n := len(r.Attempts); n > 0 {
		a := r.Attempts[n-1]
		rows = append(rows, [2]string{"Duration", (time.Duration(a.DurationMS) * time.Millisecond).Round(time.Second).String()})
		if r.Direction == gofaxlib.Outbound {
			rows = append(rows, [2]string{"Attempts", fmt.Sprint(n)})
		}
		if a.SignalRate > 0 {
			mode := fmt.Sprintf("%d bit/s", a.SignalRate)
			if a.ECM {
				mode += ", ECM"
			}
			rows = append(rows, [2]string{"Transfer", mode})
		}
	}
	rows = append(rows, [2]string{"Fax ID", r.ID}, [2]string{"Event", ev.ID})
	y -= 22
	for _, row := range rows {
		p.Text(margin, y, 10, row[0]+":")
		p.Text(margin+110, y, 10, clipRunes(row[1], 80))
		y -= 15
	}

	// Page 1, reduced, in the rest of the page.
	y -= 10
	boxTop := y
	boxH := boxTop - margin
	boxW := a4Width - 2*margin
	p.Text(margin, boxTop+2, 9, "Page 1 (reduced)")
	p.Rect(margin, margin, boxW, boxH-12, 0.5)
	if im == nil {
		p.Text(margin+12, margin+boxH/2, 10, "(no page to show)")
	} else if err := p.Image(im, margin+4, margin+4, boxW-8, boxH-20); err != nil {
		return err
	}
	return d.Close()
}

// headline says in one line what the event is.
func headline(r gofaxlib.FaxResource, t gofaxlib.EventType) string {
	switch t {
	case gofaxlib.EventReceived:
		if r.Pages.Total > r.Pages.Transferred {
			return "Received in part"
		}
		return "Received"
	case gofaxlib.EventReceiveFailed:
		return "Reception failed"
	case gofaxlib.EventDelivered:
		return "Delivered"
	case gofaxlib.EventFailed:
		return "Not delivered"
	case gofaxlib.EventCanceled:
		return "Canceled"
	case gofaxlib.EventRetrying:
		return "Attempt failed, retrying"
	}
	return string(t)
}

func result(r gofaxlib.FaxResource, t gofaxlib.EventType) string {
	if r.Error != nil && r.Error.Text != "" {
		s := r.Error.Text
		if r.Error.Code != "" && strings.ToUpper(r.Error.Code) == r.Error.Code {
			s += " (" + r.Error.Code + ")"
		}
		return s
	}
	switch t {
	case gofaxlib.EventReceived, gofaxlib.EventDelivered:
		return "OK"
	}
	return headline(r, t)
}

func pages(p gofaxlib.Pages) string {
	if p.Total > p.Transferred {
		return fmt.Sprintf("%d of %d", p.Transferred, p.Total)
	}
	return fmt.Sprint(p.Transferred)
}

func quoted(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return "(" + s + ")"
}

func joinNonEmpty(ss ...string) string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
