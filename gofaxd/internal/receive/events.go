package receive

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// Events the call subscribes to: what the outbound-rx captures show a
// receive session needs. CUSTOM spandsp events must be named; myevents
// does not deliver them.
var subscription = []string{
	"CHANNEL_CALLSTATE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE",
	"CUSTOM", "spandsp::rxfaxnegociateresult", "spandsp::rxfaxpageresult", "spandsp::rxfaxresult",
}

// fold merges one event of the receive session into r. It reports
// whether the event is fax progress (negotiation, a page, the result).
func fold(r *gofaxlib.Result, ev *esl.Event, now time.Time) (progress bool) {
	switch ev.Name() {
	case "CHANNEL_CALLSTATE":
		if ev.Get("Channel-Call-State") == "ACTIVE" && r.Answered.IsZero() {
			r.Answered = now
		}
	case "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE":
		if r.Hangup.IsZero() {
			r.Hangup = now
		}
		if c := ev.Get("Hangup-Cause"); c != "" {
			r.HangupCause = c
		}
		if ev.Name() == "CHANNEL_HANGUP_COMPLETE" && !r.Final {
			foldVars(r, ev)
		}
	case "CHANNEL_EXECUTE_COMPLETE":
		if ev.Get("Application") == "rxfax" && !r.Final {
			foldVars(r, ev)
			if !r.Final {
				r.AppResponse = ev.Get("Application-Response")
			}
		}
	case "CUSTOM":
		switch ev.Subclass() {
		case "spandsp::rxfaxnegociateresult":
			r.Negotiations++
			r.TransferRate = atoi(ev.Get("fax-transfer-rate"))
			r.ECM = ev.Get("fax-ecm-used") == "on"
			setNonEmpty(&r.RemoteID, ev.Get("fax-remote-station-id"))
			setNonEmpty(&r.LocalID, ev.Get("fax-local-station-id"))
			setNonEmpty(&r.T38Status, ev.Get("fax-t38-status"))
			return true
		case "spandsp::rxfaxpageresult":
			p := gofaxlib.PageResult{
				Number:           atoi(ev.Get("fax-document-transferred-pages")),
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
			r.TransferredPages = max(r.TransferredPages, p.Number)
			return true
		case "spandsp::rxfaxresult":
			r.Final = true
			r.Success = ev.Get("fax-success") == "1"
			r.ResultCode = gofaxlib.T30Code(atoi(ev.Get("fax-result-code")))
			r.ResultText = ev.Get("fax-result-text")
			r.TotalPages = atoi(ev.Get("fax-document-total-pages"))
			r.TransferredPages = atoi(ev.Get("fax-document-transferred-pages"))
			setNonEmpty(&r.RemoteID, ev.Get("fax-remote-station-id"))
			if v := ev.Get("fax-transfer-rate"); v != "" {
				r.TransferRate = atoi(v)
			}
			if v := ev.Get("fax-ecm-used"); v != "" {
				r.ECM = v == "on"
			}
			return true
		}
	}
	return false
}

// foldVars takes the result from the fax_* channel variables that
// rxfax's EXECUTE_COMPLETE and the hangup events carry, for when the
// spandsp result event itself was lost.
func foldVars(r *gofaxlib.Result, ev *esl.Event) {
	succ := ev.Var("fax_success")
	if succ == "" {
		return
	}
	r.Final = true
	r.Success = succ == "1"
	r.ResultCode = gofaxlib.T30Code(atoi(ev.Var("fax_result_code")))
	r.ResultText = ev.Var("fax_result_text")
	if v := ev.Var("fax_document_total_pages"); v != "" {
		r.TotalPages = atoi(v)
	}
	if v := ev.Var("fax_document_transferred_pages"); v != "" {
		r.TransferredPages = atoi(v)
	}
	setNonEmpty(&r.RemoteID, ev.Var("fax_remote_station_id"))
	if v := ev.Var("fax_transfer_rate"); v != "" {
		r.TransferRate = atoi(v)
	}
	if v := ev.Var("fax_ecm_used"); v != "" {
		r.ECM = v == "on"
	}
}

func setNonEmpty(dst *string, v string) {
	if v = strings.TrimSpace(v); v != "" {
		*dst = v
	}
}

// atoi parses a number from FreeSWITCH; garbage counts as 0.
func atoi(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return n
}
