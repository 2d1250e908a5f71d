package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// frameKind marks the frames whose timing the replay controls.
type frameKind int

const (
	frameOther  frameKind = iota
	framePage             // spandsp::rxfaxpageresult: page times and holds go before it
	frameResult           // spandsp::rxfaxresult: the file is final; teardown starts after it
)

// frame is one message FreeSWITCH sent, as captured.
type frame struct {
	b      []byte
	uuidAt []int // offsets of the call's Unique-ID in b
	kind   frameKind
}

// step is one command the client sends and what FreeSWITCH sends after
// it, up to the next command.
type step struct {
	want   string // the command, normalised (see normCommand)
	rxfax  bool   // "execute rxfax": setup ends when it is read
	frames []frame
}

// script is a captured outbound-socket reception: the commands gofaxd
// must send, in order, and what FreeSWITCH answered to each.
type script struct {
	uuid     string // the captured call's Unique-ID, replaced per call
	steps    []step
	rawBytes int // bytes FreeSWITCH sent in the capture
}

// uuidRe finds the channel's Unique-ID in the channel data.
var uuidRe = regexp.MustCompile(`(?m)^Unique-ID: ([0-9a-f-]{36})$`)

// markerRe is the line before each command in a .raw.sent file.
var markerRe = regexp.MustCompile(`^--- t=[0-9.]+ rx_offset=([0-9]+)$`)

// loadScript builds the script from a capture: raw is every byte
// FreeSWITCH sent on the connection, sent what the client sent, each
// command preceded by its "--- t=… rx_offset=…" line. After command i,
// FreeSWITCH sent raw[offset_i:offset_i+1].
func loadScript(raw, sent []byte) (*script, error) {
	m := uuidRe.FindSubmatch(raw)
	if m == nil {
		return nil, errors.New("capture: no Unique-ID in the channel data")
	}
	s := &script{uuid: string(m[1]), rawBytes: len(raw)}
	type cmd struct {
		off   int
		lines []string
	}
	var cmds []cmd
	sc := bufio.NewScanner(bytes.NewReader(sent))
	for sc.Scan() {
		line := sc.Text()
		if mm := markerRe.FindStringSubmatch(line); mm != nil {
			off, _ := strconv.Atoi(mm[1])
			cmds = append(cmds, cmd{off: off})
			continue
		}
		if len(cmds) == 0 {
			return nil, fmt.Errorf("capture: %q before the first marker", line)
		}
		c := &cmds[len(cmds)-1]
		if line != "" {
			c.lines = append(c.lines, line)
		}
	}
	if len(cmds) == 0 {
		return nil, errors.New("capture: no commands")
	}
	for i, c := range cmds {
		end := len(raw)
		if i+1 < len(cmds) {
			end = cmds[i+1].off
		}
		if c.off > end || end > len(raw) || len(c.lines) == 0 {
			return nil, fmt.Errorf("capture: command %d at offset %d out of order", i+1, c.off)
		}
		hs := esl.Headers{}
		for _, l := range c.lines[1:] {
			name, value, _ := strings.Cut(l, ": ")
			hs = append(hs, esl.Header{Name: name, Value: value})
		}
		want, arg := normCommand(c.lines[0], hs, s.uuid)
		st := step{want: want, rxfax: strings.HasSuffix(want, " rxfax") && arg != ""}
		frames, err := splitFrames(raw[c.off:end], s.uuid)
		if err != nil {
			return nil, fmt.Errorf("capture: after command %d (%s): %w", i+1, want, err)
		}
		st.frames = frames
		s.steps = append(s.steps, st)
	}
	return s, nil
}

// normCommand reduces a command to what the replay compares: the line
// with the call's UUID as <uuid>, and for sendmsg the call-command with
// its application and argument (rxfax's file name, which differs from
// call to call, is returned apart) or hangup cause.
func normCommand(line string, hs esl.Headers, uuid string) (norm, rxfaxArg string) {
	line = strings.ReplaceAll(line, uuid, "<uuid>")
	if line != "sendmsg" && !strings.HasPrefix(line, "sendmsg ") {
		return line, ""
	}
	cc := hs.Get("call-command")
	switch cc {
	case "execute":
		app, arg := hs.Get("execute-app-name"), hs.Get("execute-app-arg")
		if app == "rxfax" {
			return "sendmsg execute rxfax", arg
		}
		n := "sendmsg execute " + app
		if arg != "" {
			n += " " + arg
		}
		return n, ""
	case "hangup":
		return "sendmsg hangup " + hs.Get("hangup-cause"), ""
	}
	return "sendmsg " + cc, ""
}

// splitFrames cuts b into the frames FreeSWITCH sent and classifies them.
func splitFrames(b []byte, uuid string) ([]frame, error) {
	rd := esl.NewReader(bytes.NewReader(b))
	var frames []frame
	var prev int64
	for {
		m, err := rd.ReadMessage()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		f := frame{b: b[prev:rd.Offset()]}
		prev = rd.Offset()
		if m.ContentType() == esl.TypeEventPlain {
			if e, err := esl.ParsePlainEvent(m.Body); err == nil {
				switch e.Subclass() {
				case "spandsp::rxfaxpageresult":
					f.kind = framePage
				case "spandsp::rxfaxresult":
					f.kind = frameResult
				}
			}
		}
		for i := 0; ; {
			j := bytes.Index(f.b[i:], []byte(uuid))
			if j < 0 {
				break
			}
			f.uuidAt = append(f.uuidAt, i+j)
			i += j + len(uuid)
		}
		frames = append(frames, f)
	}
	if prev != int64(len(b)) {
		return nil, fmt.Errorf("%d bytes after the last frame", int64(len(b))-prev)
	}
	return frames, nil
}

// appendFrame appends f with the call's UUID in place of the captured one
// (both are 36 bytes: every Content-Length stays right).
func appendFrame(dst []byte, f *frame, uuid string) []byte {
	n := len(dst)
	dst = append(dst, f.b...)
	for _, at := range f.uuidAt {
		copy(dst[n+at:], uuid)
	}
	return dst
}

// commands returns how many command round trips the script has.
func (s *script) commands() int { return len(s.steps) }
