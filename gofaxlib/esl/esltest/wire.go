package esltest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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

// command is one client command: its first line, the headers after it and
// an optional body (sendmsg may carry one).
type command struct {
	line    string
	headers esl.Headers
	body    []byte
}

// errCommandTooLarge means a client sent a command block larger than
// esl.MaxHeaderBytes or more than esl.MaxHeaders lines.
var errCommandTooLarge = errors.New("esltest: command too large")

// readCommand reads one command block (lines up to a blank line, then
// Content-Length bytes of body). Reads are bounded by the esl limits:
// no client command comes near them.
func readCommand(r *bufio.Reader) (*command, error) {
	var cmd command
	total := 0
	first := true
	for {
		line, err := r.ReadString('\n')
		total += len(line)
		if total > esl.MaxHeaderBytes || len(cmd.headers) > esl.MaxHeaders {
			return nil, errCommandTooLarge
		}
		if err != nil {
			if err == io.EOF && (line != "" || !first) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if first {
				continue // stray blank lines between commands are ignored, as FreeSWITCH does
			}
			break
		}
		if first {
			cmd.line = line
			first = false
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		cmd.headers = append(cmd.headers, esl.Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	}
	if cl := cmd.headers.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 || n > esl.MaxBodyBytes {
			return nil, errCommandTooLarge
		}
		cmd.body = make([]byte, n)
		if _, err := io.ReadFull(r, cmd.body); err != nil {
			return nil, err
		}
	}
	return &cmd, nil
}
