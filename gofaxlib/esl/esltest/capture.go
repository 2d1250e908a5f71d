package esltest

import (
	"bytes"
	"embed"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// Real captures the simulator takes its channel variables from
// (testdata/README).
//
//go:embed testdata/t38_A_plain.raw testdata/outbound-rx-t38_B-socket_plain.raw testdata/sent-2page-g3.tif
var captures embed.FS

// frame is one framed message of a capture.
type frame struct {
	headers esl.Headers
	body    []byte
	end     int // offset just past the frame in the capture
}

// parseFrames splits a capture into frames. Values stay as sent.
func parseFrames(data []byte) ([]frame, error) {
	var out []frame
	total := len(data)
	for len(data) > 0 {
		end := bytes.Index(data, []byte("\n\n"))
		if end < 0 {
			return out, fmt.Errorf("esltest: capture: unterminated header block")
		}
		var f frame
		for _, line := range strings.Split(string(data[:end]), "\n") {
			name, value, _ := strings.Cut(line, ": ")
			f.headers = append(f.headers, esl.Header{Name: name, Value: value})
		}
		data = data[end+2:]
		if cl := f.headers.Get("Content-Length"); cl != "" {
			n, err := strconv.Atoi(cl)
			if err != nil || n > len(data) {
				return out, fmt.Errorf("esltest: capture: bad Content-Length %q", cl)
			}
			f.body, data = data[:n], data[n:]
		}
		f.end = total - len(data)
		out = append(out, f)
	}
	return out, nil
}

// parsePlain decodes a text/event-plain body into headers (values
// URL-decoded) and the nested body.
func parsePlain(body []byte) (esl.Headers, string) {
	head, rest, _ := strings.Cut(string(body), "\n\n")
	var hs esl.Headers
	for _, line := range strings.Split(head, "\n") {
		name, value, _ := strings.Cut(line, ": ")
		if v, err := url.PathUnescape(value); err == nil {
			value = v
		}
		hs = append(hs, esl.Header{Name: name, Value: value})
	}
	if hs.Get("Content-Length") == "" {
		rest = ""
	}
	return hs, rest
}

// varTemplates holds the channel variables of real channels at the stages
// the simulator copies them from.
type varTemplates struct {
	aCreate, aAnswer, aComplete  esl.Headers // sending leg (t38_A_plain.raw)
	bConnect, bAnswer, bComplete esl.Headers // receiving leg (outbound-rx-t38_B-socket_plain.raw)
	aUUID, bUUID, aDest, bDest   string
	bCaller                      string
}

var (
	templatesOnce sync.Once
	templates     varTemplates
	templatesErr  error
)

// loadTemplates parses the embedded captures once.
func loadTemplates() (*varTemplates, error) {
	templatesOnce.Do(func() {
		templatesErr = templates.load()
	})
	return &templates, templatesErr
}

func (t *varTemplates) load() error {
	events := func(name string) ([]esl.Headers, error) {
		data, err := captures.ReadFile("testdata/" + name)
		if err != nil {
			return nil, err
		}
		frames, err := parseFrames(data)
		if err != nil {
			return nil, err
		}
		var evs []esl.Headers
		for _, f := range frames {
			switch {
			case f.headers.Get("Content-Type") == "text/event-plain":
				hs, _ := parsePlain(f.body)
				evs = append(evs, hs)
			case f.headers.Get("Event-Name") == "CHANNEL_DATA":
				var hs esl.Headers
				for _, h := range f.headers {
					v, err := url.PathUnescape(h.Value)
					if err != nil {
						v = h.Value
					}
					hs = append(hs, esl.Header{Name: h.Name, Value: v})
				}
				evs = append(evs, hs)
			}
		}
		return evs, nil
	}
	pick := func(evs []esl.Headers, name, app string) esl.Headers {
		for _, e := range evs {
			if e.Get("Event-Name") == name && (app == "" || e.Get("Application") == app) {
				var vars esl.Headers
				for _, h := range e {
					if n, ok := strings.CutPrefix(h.Name, "variable_"); ok {
						vars = append(vars, esl.Header{Name: n, Value: h.Value})
					}
				}
				return vars
			}
		}
		return nil
	}
	a, err := events("t38_A_plain.raw")
	if err != nil {
		return err
	}
	b, err := events("outbound-rx-t38_B-socket_plain.raw")
	if err != nil {
		return err
	}
	t.aCreate = pick(a, "CHANNEL_CREATE", "")
	t.aAnswer = pick(a, "CHANNEL_ANSWER", "")
	t.aComplete = pick(a, "CHANNEL_HANGUP_COMPLETE", "")
	t.aUUID = t.aCreate.Get("uuid")
	t.aDest = "5551234"
	t.bConnect = pick(b, "CHANNEL_DATA", "")
	t.bAnswer = pick(b, "CHANNEL_EXECUTE_COMPLETE", "answer")
	t.bComplete = pick(b, "CHANNEL_HANGUP_COMPLETE", "")
	t.bUUID = t.bConnect.Get("uuid")
	t.bDest = "5551236"
	t.bCaller = "1111"
	if t.aCreate == nil || t.aComplete == nil || t.bConnect == nil || t.bComplete == nil {
		return fmt.Errorf("esltest: embedded captures lack the template events")
	}
	return nil
}
