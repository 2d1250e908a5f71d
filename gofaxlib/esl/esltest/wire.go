package esltest

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// Bytes FreeSWITCH sends verbatim (captures auth-wrong-password_A_plain.raw,
// api-db-misc_A_plain.raw).
const (
	authRequest     = "Content-Type: auth/request\n\n"
	goodbyeText     = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
	disconnectPlain = "Content-Type: text/disconnect-notice\nContent-Length: 67\n\n" + goodbyeText
)

// reply renders a command/reply frame. extra headers follow Reply-Text.
func reply(text string, extra ...esl.Header) []byte {
	var b strings.Builder
	b.WriteString("Content-Type: command/reply\nReply-Text: ")
	b.WriteString(text)
	b.WriteByte('\n')
	for _, h := range extra {
		b.WriteString(h.Name + ": " + h.Value + "\n")
	}
	b.WriteByte('\n')
	return []byte(b.String())
}

// apiResponse renders an api/response frame with body.
func apiResponse(body string) []byte {
	return []byte("Content-Type: api/response\nContent-Length: " + strconv.Itoa(len(body)) + "\n\n" + body)
}

// eventFrame renders ev in format (esl.FormatPlain or esl.FormatJSON) as
// FreeSWITCH frames an event; esl's encoder reproduces the captured
// events byte for byte (TestFramePlainRoundTrip, TestFrameJSONRoundTrip).
// esl refuses header names with ':', '"', '\', CR or LF, which a dial
// string's variable names can bring in and FreeSWITCH would send as they
// are: such headers are left out. nil means the event cannot be framed.
func eventFrame(ev *event, format string) []byte {
	e := &esl.Event{Format: format, Headers: ev.headers, Body: []byte(ev.body)}
	m, err := e.Message()
	if err != nil {
		e.Headers = slices.DeleteFunc(slices.Clone(e.Headers), func(h esl.Header) bool {
			_, err := (&esl.Event{Format: format, Headers: esl.Headers{h}}).Message()
			return err != nil
		})
		m, err = e.Message()
	}
	if err != nil {
		return nil
	}
	b, err := esl.AppendMessage(nil, m)
	if err != nil {
		return nil
	}
	return b
}
