package esl

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (local, remote net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	local, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	remote = <-accepted
	if remote == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { local.Close(); remote.Close() })
	return local, remote
}

func TestIdleReaderGivesBufferBackBetweenFrames(t *testing.T) {
	local, remote := tcpPair(t)
	r := newConnReader(local)
	src, ok := r.src.(*idleSource)
	if !ok {
		t.Fatal("a TCP connection should wait idle")
	}
	body := strings.Repeat("x", 3*readBufferSize) // longer than the buffer
	frames := []string{
		"Content-Type: command/reply\nReply-Text: +OK one\n\n",
		"Content-Type: text/event-plain\nContent-Length: " + strconv.Itoa(len(body)) + "\n\n" + body,
		"Content-Type: command/reply\nReply-Text: +OK three\n\n",
	}
	go func() {
		for _, f := range frames {
			// Each frame in two writes with a pause: the reader waits
			// idle, then inside the frame.
			half := len(f) / 2
			remote.Write([]byte(f[:half]))
			time.Sleep(20 * time.Millisecond)
			remote.Write([]byte(f[half:]))
			time.Sleep(20 * time.Millisecond)
		}
		remote.Close()
	}()
	for i, want := range []string{"+OK one", "", "+OK three"} {
		r.idle()
		if r.r != nil {
			t.Fatalf("frame %d: the buffer was kept while waiting", i)
		}
		if len(src.data) == 0 {
			t.Fatalf("frame %d: idle returned without data", i)
		}
		m, err := r.ReadMessage()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got := m.ReplyText(); got != want {
			t.Errorf("frame %d: Reply-Text %q, want %q", i, got, want)
		}
		if i == 1 && string(m.Body) != body {
			t.Errorf("frame 1: body of %d bytes, want %d", len(m.Body), len(body))
		}
	}
	r.idle()
	if _, err := r.ReadMessage(); err != io.EOF {
		t.Fatalf("after the peer closed: %v, want io.EOF", err)
	}
}

func TestIdleReaderEnds(t *testing.T) {
	tests := []struct {
		name string
		end  func(local, remote net.Conn)
		want error
	}{
		{"local close", func(local, _ net.Conn) { local.Close() }, net.ErrClosed},
		{"read deadline", func(local, _ net.Conn) { local.SetReadDeadline(time.Now()) }, os.ErrDeadlineExceeded},
		{"peer close", func(_, remote net.Conn) { remote.Close() }, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			local, remote := tcpPair(t)
			r := newConnReader(local)
			time.AfterFunc(20*time.Millisecond, func() { tt.end(local, remote) })
			done := make(chan error, 1)
			go func() {
				r.idle()
				_, err := r.ReadMessage()
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, tt.want) {
					t.Fatalf("ReadMessage: %v, want %v", err, tt.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the idle wait did not end")
			}
		})
	}
}
