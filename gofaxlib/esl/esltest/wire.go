package esltest

import (
	"fmt"
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

// urlUnsafe lists the printable characters FreeSWITCH's switch_url_encode
// escapes in text/event-plain values; control and non-ASCII bytes are
// escaped too. Commas, slashes and parentheses stay as they are
// (see Job-Command-Arg in the captures).
const urlUnsafe = "\r\n \"#%&+:;<=>?@[\\]^`{|}"

// urlEncode escapes s the way FreeSWITCH does in plain events.
func urlEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || strings.IndexByte(urlUnsafe, c) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

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

// renderPlain renders ev as FreeSWITCH's text/event-plain frame.
func renderPlain(ev *event) []byte {
	var b strings.Builder
	for _, h := range ev.headers {
		b.WriteString(h.Name)
		b.WriteString(": ")
		b.WriteString(urlEncode(h.Value))
		b.WriteByte('\n')
	}
	if ev.body != "" {
		b.WriteString("Content-Length: " + strconv.Itoa(len(ev.body)) + "\n\n")
		b.WriteString(ev.body)
	} else {
		b.WriteByte('\n')
	}
	body := b.String()
	return []byte("Content-Length: " + strconv.Itoa(len(body)) + "\nContent-Type: text/event-plain\n\n" + body)
}

// renderJSON renders ev as FreeSWITCH's text/event-json frame: one flat
// object in header order, "ARRAY::a|:b" values as arrays, the body as
// "_body" after a "Content-Length" member.
func renderJSON(ev *event) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i, h := range ev.headers {
		if i > 0 {
			b.WriteByte(',')
		}
		jsonString(&b, h.Name)
		b.WriteByte(':')
		if rest, ok := strings.CutPrefix(h.Value, "ARRAY::"); ok {
			b.WriteByte('[')
			for j, item := range strings.Split(rest, "|:") {
				if j > 0 {
					b.WriteByte(',')
				}
				jsonString(&b, item)
			}
			b.WriteByte(']')
			continue
		}
		jsonString(&b, h.Value)
	}
	if ev.body != "" {
		b.WriteString(`,"Content-Length":"` + strconv.Itoa(len(ev.body)) + `","_body":`)
		jsonString(&b, ev.body)
	}
	b.WriteByte('}')
	body := b.String()
	return []byte("Content-Length: " + strconv.Itoa(len(body)) + "\nContent-Type: text/event-json\n\n" + body)
}

// jsonString writes s as a JSON string the way cJSON does (no HTML escaping).
func jsonString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 {
				fmt.Fprintf(b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}
