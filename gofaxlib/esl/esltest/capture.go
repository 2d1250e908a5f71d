package esltest

import (
	"bytes"
	"embed"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// Real captures the simulator takes its channel variables from
// (testdata/README).
//
//go:embed testdata/t38_A_plain.raw testdata/outbound-rx-t38_B-socket_plain.raw testdata/sent-2page-g3.tif
var captures embed.FS

// captureEvents returns the events of an embedded capture with decoded
// values: its text/event-plain events and the outbound-socket connect
// reply, whose headers are the channel data (CHANNEL_DATA).
func captureEvents(name string) ([]esl.Headers, error) {
	data, err := captures.ReadFile("testdata/" + name)
	if err != nil {
		return nil, err
	}
	rd := esl.NewReader(bytes.NewReader(data))
	var evs []esl.Headers
	for {
		m, err := rd.ReadMessage()
		if err == io.EOF {
			return evs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("esltest: capture %s: %w", name, err)
		}
		switch {
		case m.ContentType() == esl.TypeEventPlain:
			e, err := esl.ParsePlainEvent(m.Body)
			if err != nil {
				return nil, fmt.Errorf("esltest: capture %s: %w", name, err)
			}
			evs = append(evs, e.Headers)
		case m.Get("Event-Name") == "CHANNEL_DATA":
			evs = append(evs, esl.DecodeHeaders(m.Headers))
		}
	}
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
	a, err := captureEvents("t38_A_plain.raw")
	if err != nil {
		return err
	}
	b, err := captureEvents("outbound-rx-t38_B-socket_plain.raw")
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
