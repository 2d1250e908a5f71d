package esl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testCtx returns a context that ends with the test or after 10 s.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// peerConn is one connection of a scripted fake peer.
type peerConn struct {
	t  testing.TB
	nc net.Conn
	rd *Reader
}

// send writes s to the client.
func (p *peerConn) send(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.nc, s); err != nil {
		p.t.Errorf("peer write: %v", err)
	}
}

// expect reads one command and checks its line.
func (p *peerConn) expect(line string) *Command {
	p.t.Helper()
	c, err := p.rd.ReadCommand()
	if err != nil {
		p.t.Errorf("peer: want %q, got %v", line, err)
		return &Command{}
	}
	if c.Line != line {
		p.t.Errorf("peer: got command %q, want %q", c.Line, line)
	}
	return c
}

// command reads the next command.
func (p *peerConn) command() (*Command, error) { return p.rd.ReadCommand() }

// listenPeer starts a fake FreeSWITCH on 127.0.0.1:0 that runs script on
// the first connection and closes it afterwards. The test waits for it.
func listenPeer(t testing.TB, script func(p *peerConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		script(&peerConn{t: t, nc: nc, rd: NewReader(nc)})
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

const (
	greeting = "Content-Type: auth/request\n\n"
	accepted = "Content-Type: command/reply\nReply-Text: +OK accepted\n\n"
	bye      = "Content-Type: command/reply\nReply-Text: +OK bye\n\n" +
		"Content-Type: text/disconnect-notice\nContent-Length: 67\n\nDisconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
)

// login plays the greeting and accepts any password.
func login(p *peerConn) {
	p.send(greeting)
	p.expect("auth ClueCon")
	p.send(accepted)
}

func apiResponse(body string) string {
	return fmt.Sprintf("Content-Type: api/response\nContent-Length: %d\n\n%s", len(body), body)
}

func reply(text string) string {
	return "Content-Type: command/reply\nReply-Text: " + text + "\n\n"
}

// checkNoLeak fails if goroutines started during the test outlive it.
func checkNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// sentCmd is one command of a .raw.sent file.
type sentCmd struct {
	rxOffset int    // bytes the client had received when it sent this
	data     []byte // the command as sent
}

var sentMarker = regexp.MustCompile(`(?m)^--- t=[0-9.]+ rx_offset=([0-9]+)\n`)

// readSent parses a .raw.sent file.
func readSent(t *testing.T, path string) []sentCmd {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	idx := sentMarker.FindAllSubmatchIndex(b, -1)
	var cmds []sentCmd
	for i, m := range idx {
		off, _ := strconv.Atoi(string(b[m[2]:m[3]]))
		end := len(b)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		cmds = append(cmds, sentCmd{rxOffset: off, data: b[m[1]:end]})
	}
	return cmds
}

// replayPeer plays a captured FreeSWITCH connection: before reading
// command i it sends the capture up to that command's rx_offset, then
// checks the command against the capture (check may compare it). After
// the last command it sends the rest.
func replayPeer(t *testing.T, name string, check func(i int, got *Command, want []byte)) func(p *peerConn) {
	raw, err := os.ReadFile("testdata/transcripts/" + name + ".raw")
	if err != nil {
		t.Fatal(err)
	}
	cmds := readSent(t, "testdata/transcripts/"+name+".raw.sent")
	return func(p *peerConn) {
		sent := 0
		for i, c := range cmds {
			p.send(string(raw[sent:c.rxOffset]))
			sent = c.rxOffset
			got, err := p.command()
			if err != nil {
				p.t.Errorf("command %d: %v", i, err)
				return
			}
			check(i, got, c.data)
		}
		p.send(string(raw[sent:]))
	}
}

// sameCommand compares a command read from the client with captured
// bytes, ignoring blank lines at the end and the headers in skip.
func sameCommand(got *Command, want []byte, skip ...string) error {
	rd := NewReader(bytes.NewReader(want))
	w, err := rd.ReadCommand()
	if err != nil {
		return err
	}
	filter := func(h Headers) Headers {
		var out Headers
	next:
		for _, x := range h {
			for _, s := range skip {
				if strings.EqualFold(x.Name, s) {
					continue next
				}
			}
			out = append(out, x)
		}
		return out
	}
	if got.Line != w.Line || fmt.Sprint(filter(got.Headers)) != fmt.Sprint(filter(w.Headers)) || !bytes.Equal(got.Body, w.Body) {
		return fmt.Errorf("command %q %v, capture has %q %v", got.Line, got.Headers, w.Line, w.Headers)
	}
	return nil
}
