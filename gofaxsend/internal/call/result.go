package call

import (
	"strconv"
	"strings"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// What an event meant for the call.
type kind int

const (
	evOther kind = iota
	evAnswer
	evNegotiated
	evPage
	evResult
	evHangup
	evHangupComplete
)

// apply records what ev says in r and tells what kind of event it was.
// spandsp's headers are lower case ("fax-success"); the hangup events
// carry the same values as channel variables ("variable_fax_success").
func apply(r *gofaxlib.Result, ev *esl.Event) kind {
	switch ev.Name() {
	case "CHANNEL_ANSWER":
		return evAnswer
	case "CHANNEL_HANGUP":
		if c := ev.Get("Hangup-Cause"); c != "" {
			r.HangupCause = c
		}
		return evHangup
	case "CHANNEL_HANGUP_COMPLETE":
		if c := ev.Get("Hangup-Cause"); c != "" {
			r.HangupCause = c
		}
		if !r.Final && ev.Var("fax_success") != "" {
			r.Final = true
			r.Success = ev.Var("fax_success") == "1"
			r.ResultCode = gofaxlib.T30Code(atoi(ev.Var("fax_result_code")))
			r.ResultText = ev.Var("fax_result_text")
			setInt(&r.TransferredPages, ev.Var("fax_document_transferred_pages"))
			setInt(&r.TotalPages, ev.Var("fax_document_total_pages"))
		}
		return evHangupComplete
	case "CHANNEL_EXECUTE_COMPLETE":
		if ev.Get("Application") == "txfax" && ev.Var("fax_success") == "" && !r.Final {
			// txfax did not start: no spandsp event will come.
			r.AppResponse = ev.Get("Application-Response")
		}
		return evOther
	case "CUSTOM":
	default:
		return evOther
	}
	sub := ev.Subclass()
	station := func() {
		if v := ev.Get("fax-remote-station-id"); v != "" {
			r.RemoteID = v
		}
		if v := ev.Get("fax-local-station-id"); v != "" {
			r.LocalID = v
		}
		if v := ev.Get("fax-t38-status"); v != "" {
			r.T38Status = v
		}
		if v := ev.Get("fax-ecm-used"); v != "" {
			r.ECM = v == "on"
		}
		setInt(&r.TransferRate, ev.Get("fax-transfer-rate"))
		setInt(&r.TotalPages, ev.Get("fax-document-total-pages"))
	}
	switch sub {
	case "spandsp::txfaxnegociateresult":
		r.Negotiations++
		station()
		return evNegotiated
	case "spandsp::txfaxpageresult":
		n := atoi(ev.Get("fax-document-transferred-pages"))
		setInt(&r.TotalPages, ev.Get("fax-document-total-pages"))
		if n > r.TransferredPages {
			p := gofaxlib.PageResult{
				Number:           n,
				BadRows:          atoi(ev.Get("fax-bad-rows")),
				LongestBadRowRun: atoi(ev.Get("fax-longest-bad-row-run")),
				Encoding:         atoi(ev.Get("fax-encoding")),
				EncodingName:     ev.Get("fax-encoding-name"),
				Resolution:       ev.Get("fax-image-resolution"),
				FileResolution:   ev.Get("fax-file-image-resolution"),
				PixelSize:        ev.Get("fax-image-pixel-size"),
				FilePixelSize:    ev.Get("fax-file-image-pixel-size"),
				ImageSize:        atoi(ev.Get("fax-image-size")),
			}
			r.Pages = append(r.Pages, p)
			r.BadRows += p.BadRows
			r.TransferredPages = n
		}
		return evPage
	case "spandsp::txfaxresult":
		r.Final = true
		r.Success = ev.Get("fax-success") == "1"
		r.ResultCode = gofaxlib.T30Code(atoi(ev.Get("fax-result-code")))
		r.ResultText = ev.Get("fax-result-text")
		if n := atoi(ev.Get("fax-document-transferred-pages")); n > r.TransferredPages {
			r.TransferredPages = n
		}
		station()
		return evResult
	}
	return evOther
}

func atoi(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}

// setInt sets *p from s when s is a number.
func setInt(p *int, s string) {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		*p = n
	}
}
