package esl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// startServer opens a Server on 127.0.0.1:0 running handler and shuts it
// down at the end of the test.
func startServer(t *testing.T, handler func(ctx context.Context, c *OutboundConn)) *Server {
	t.Helper()
	s := &Server{Addr: "127.0.0.1:0", Handler: handler, ConnectTimeout: 5 * time.Second}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

// dialPeer connects a fake FreeSWITCH to addr and runs script; the test
// waits for it.
func dialPeer(t *testing.T, addr string, script func(p *peerConn)) <-chan struct{} {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		script(&peerConn{t: t, nc: nc, rd: NewReader(nc)})
	}()
	t.Cleanup(func() { <-done })
	return done
}

// rxSession is a receive session like the captured ones, as a daemon runs
// it on an outbound socket.
type rxSession struct {
	myEvents bool     // "myevents" first, before "event"
	filter   bool     // "filter Unique-ID <uuid>"
	linger   string   // "first" or "last" (after event)
	events   []string // for "event plain"
	apps     [][2]string

	mu      sync.Mutex
	data    *Event
	results []*Event // spandsp events
	notices []string // Content-Disposition of disconnect notices
	err     error
}

func (r *rxSession) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

func (r *rxSession) handle(ctx context.Context, c *OutboundConn) {
	r.mu.Lock()
	r.data = c.ChannelData()
	r.mu.Unlock()
	steps := []func() error{}
	if r.linger == "first" {
		steps = append(steps, func() error { return c.Linger(ctx) })
	}
	if r.myEvents {
		steps = append(steps, func() error { return c.MyEvents(ctx) })
	}
	if r.filter {
		steps = append(steps, func() error { return c.Filter(ctx, "Unique-ID", c.UUID()) })
	}
	steps = append(steps, func() error { return c.Subscribe(ctx, FormatPlain, r.events...) })
	if r.linger == "last" {
		steps = append(steps, func() error { return c.Linger(ctx) })
	}
	for _, a := range r.apps {
		steps = append(steps, func() error { return c.Execute(ctx, a[0], a[1]) })
	}
	for _, step := range steps {
		if err := step(); err != nil {
			r.fail(err)
			return
		}
	}
	for e := range c.Events() {
		switch {
		case e.Format == FormatNotice:
			r.mu.Lock()
			r.notices = append(r.notices, e.Get("Content-Disposition"))
			r.mu.Unlock()
			if e.Get("Content-Disposition") == "linger" {
				if err := c.Exit(ctx); err != nil {
					r.fail(err)
				}
				return
			}
		case e.Name() == "CUSTOM":
			r.mu.Lock()
			r.results = append(r.results, e)
			r.mu.Unlock()
		case e.Name() == "CHANNEL_EXECUTE_COMPLETE" && e.Get("Application") == "rxfax":
			if err := c.Hangup(ctx, "NORMAL_CLEARING"); err != nil {
				r.fail(err)
				return
			}
		}
	}
	r.fail(errors.New("events ended before the linger notice"))
}

var spandspRx = []string{"CUSTOM", "spandsp::rxfaxnegociateresult", "spandsp::rxfaxpageresult", "spandsp::rxfaxresult"}

func rxApps(file, t38 string) [][2]string {
	return [][2]string{{"ring_ready", ""}, {"sleep", "500"}, {"answer", ""}, {"playback", "silence_stream://500"},
		{"set", "fax_enable_t38=" + t38}, {"set", "fax_enable_t38_request=" + t38},
		{"set", "fax_ident=3333"}, {"rxfax", file}}
}

// TestServerReplay lets captured FreeSWITCH outbound-socket connections
// dial the Server and checks that the handler's commands are the captured
// ones, in order, and what it learnt from the channel data and events.
func TestServerReplay(t *testing.T) {
	callEvents := []string{"CHANNEL_CALLSTATE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"}
	tests := []struct {
		capture string
		skip    []string // headers the capture's client did not send
		session *rxSession
		toUser  string
		t38     string
	}{
		{"eventlock-async-t38_B-socket_plain", nil, &rxSession{filter: true, linger: "first",
			events: append([]string{"CHANNEL_CALLSTATE", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"}, spandspRx...),
			apps:   rxApps("/srv/faxspool/inst-b/fax/rx_eventlock-async-t38.tif", "true")}, "5551236", "negotiated"},
		{"outbound-rx-t38_B-socket_plain", []string{"event-lock"}, &rxSession{filter: true, linger: "first",
			events: append(callEvents, spandspRx...),
			apps:   rxApps("/srv/faxspool/inst-b/fax/rx_socket2_t38.tif", "true")}, "5551236", "negotiated"},
		{"outbound-rx-g711_B-socket_plain", []string{"event-lock"}, &rxSession{filter: true, linger: "first",
			events: append(callEvents, spandspRx...),
			apps:   rxApps("/srv/faxspool/inst-b/fax/rx_outbound-rx-g711.tif", "false")}, "", "off"},
		{"outbound_socket_B_rxfax_session", []string{"event-lock"}, &rxSession{myEvents: true, linger: "last",
			events: spandspRx,
			apps:   [][2]string{{"set", "fax_enable_t38=true"}, {"set", "fax_ident=3333"}, {"answer", ""}, {"rxfax", "/srv/faxspool/inst-b/fax/rx_socket_t38.tif"}}}, "", "negotiated"},
	}
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			checkNoLeak(t)
			s := startServer(t, tt.session.handle)
			n := 0
			<-dialPeer(t, s.Address().String(), replayPeer(t, tt.capture, func(i int, got *Command, want []byte) {
				n++
				if err := sameCommand(got, want, tt.skip...); err != nil {
					t.Errorf("command %d: %v", i, err)
				}
			}))
			if want := len(readSent(t, "testdata/transcripts/"+tt.capture+".raw.sent")); n != want {
				t.Errorf("handler sent %d commands, capture has %d", n, want)
			}
			r := tt.session
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.err != nil {
				t.Fatalf("handler: %v", r.err)
			}
			if tt.toUser != "" && r.data.Var("sip_to_user") != tt.toUser {
				t.Errorf("sip_to_user %q, want %q", r.data.Var("sip_to_user"), tt.toUser)
			}
			if r.data.Name() != "CHANNEL_DATA" || r.data.Get("Reply-Text") != "+OK\n" || r.data.Get("Socket-Mode") != "async" || r.data.Get("Control") != "full" {
				t.Errorf("channel data: %s %q %q %q", r.data.Name(), r.data.Get("Reply-Text"), r.data.Get("Socket-Mode"), r.data.Get("Control"))
			}
			if len(r.results) != 4 {
				t.Fatalf("%d spandsp events, want 4", len(r.results))
			}
			res := r.results[3]
			if res.Subclass() != "spandsp::rxfaxresult" || res.Get("fax-success") != "1" || res.Get("fax-document-transferred-pages") != "2" || res.Get("fax-t38-status") != tt.t38 {
				t.Errorf("rxfaxresult: %s success=%s pages=%s t38=%s", res.Subclass(), res.Get("fax-success"), res.Get("fax-document-transferred-pages"), res.Get("fax-t38-status"))
			}
			if strings.Join(r.notices, ",") != "linger" {
				t.Errorf("notices %v", r.notices)
			}
		})
	}
}

// TestServerChannelData checks the decoded connect reply of a capture:
// the same headers as reading it as a message and decoding every value.
func TestServerChannelData(t *testing.T) {
	checkNoLeak(t)
	got := make(chan *Event, 1)
	released := make(chan [2]string, 1)
	s := startServer(t, func(ctx context.Context, c *OutboundConn) {
		got <- c.ChannelData()
		c.ReleaseChannelData()
		released <- [2]string{c.UUID(), c.ChannelData().Get("Unique-ID")}
		c.Exit(ctx)
	})
	raw, err := os.ReadFile("testdata/transcripts/outbound-rx-t38_B-socket_plain.raw")
	if err != nil {
		t.Fatal(err)
	}
	dialPeer(t, s.Address().String(), func(p *peerConn) {
		p.expect("connect")
		p.send(string(raw[:6463])) // the connect reply, up to "linger"'s rx_offset
		p.expect("exit")
		p.send(bye)
	})
	d := <-got
	if r := <-released; r[0] != "0f314832-a46f-4293-85fb-140acc5cadeb" || r[1] != "" {
		t.Errorf("after ReleaseChannelData: UUID %q, channel data's Unique-ID %q", r[0], r[1])
	}
	for _, tt := range []struct{ name, want string }{
		{"Unique-ID", "0f314832-a46f-4293-85fb-140acc5cadeb"},
		{"Event-Date-Local", "2026-11-22 06:34:50"},
		{"Channel-Destination-Number", "5551236"},
		{"variable_sip_to_user", "5551236"},
		{"Caller-Caller-ID-Number", "1111"},
		{"Content-Type", "command/reply"},
		{"Reply-Text", "+OK\n"},
	} {
		if v := d.Get(tt.name); v != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, v, tt.want)
		}
	}
	hs := d.AllHeaders()
	if h := hs[len(hs)-1]; h.Name != "Control" || h.Value != "full" {
		t.Errorf("last header %v, want Control: full", h)
	}
	m, err := NewReader(bytes.NewReader(raw[:6463])).ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if want := DecodeHeaders(m.Headers); fmt.Sprintf("%q", hs) != fmt.Sprintf("%q", want) {
		t.Errorf("channel data differs from the decoded message:\n%q\n%q", hs, want)
	}
}

// TestServerShutdown: Shutdown waits for a running handler; when its
// context expires it cancels the handler's context and still waits.
func TestServerShutdown(t *testing.T) {
	checkNoLeak(t)
	started := make(chan struct{})
	var handlerErr error
	s := &Server{Addr: "127.0.0.1:0", Handler: func(ctx context.Context, c *OutboundConn) {
		close(started)
		_, handlerErr = c.API(ctx, "never answered")
	}}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	dialPeer(t, s.Address().String(), func(p *peerConn) {
		p.expect("connect")
		p.send("Event-Name: CHANNEL_DATA\nUnique-ID: u1\nContent-Type: command/reply\nReply-Text: %2BOK%0A\nSocket-Mode: async\nControl: full\n\n")
		p.expect("api never answered")
		p.command() // until the server closes
	})
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v", err)
	}
	if !errors.Is(handlerErr, context.Canceled) {
		t.Errorf("handler's API: %v", handlerErr)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	if _, err := net.Dial("tcp", s.Address().String()); err == nil {
		t.Error("still accepting after Shutdown")
	}
}

// TestServerBadPeers: peers that fail the connect exchange are dropped
// without running the handler, and Shutdown does not wait for them.
func TestServerBadPeers(t *testing.T) {
	checkNoLeak(t)
	var mu sync.Mutex
	calls := 0
	s := startServer(t, func(ctx context.Context, c *OutboundConn) {
		mu.Lock()
		calls++
		mu.Unlock()
	})
	for _, script := range []func(p *peerConn){
		func(p *peerConn) { p.expect("connect") },
		func(p *peerConn) {
			p.expect("connect")
			p.send("Content-Type: command/reply\nReply-Text: -ERR nope\n\n")
			p.command()
		},
		func(p *peerConn) { p.expect("connect"); p.send("Content-Length: 99999999999\n\n"); p.command() },
		func(p *peerConn) {
			p.expect("connect")
			p.send("Content-Type: command/reply\nReply-Text: %2BOK\n\n")
			p.command()
		}, // no Unique-ID
	} {
		<-dialPeer(t, s.Address().String(), script)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 0 {
		t.Errorf("handler ran %d times", calls)
	}
}

func TestOutboundInjection(t *testing.T) {
	checkNoLeak(t)
	errs := make(chan []error, 1)
	s := startServer(t, func(ctx context.Context, c *OutboundConn) {
		errs <- []error{
			c.Execute(ctx, "rxfax", "/tmp/a.tif\ncall-command: hangup"),
			c.Execute(ctx, "rx fax", ""),
			c.Execute(ctx, "", "x"),
			c.Hangup(ctx, "NORMAL_CLEARING\n"),
			c.Hangup(ctx, ""),
		}
		c.Execute(ctx, "answer", "")
	})
	dialPeer(t, s.Address().String(), func(p *peerConn) {
		p.expect("connect")
		p.send("Unique-ID: u1\nContent-Type: command/reply\nReply-Text: %2BOK%0A\n\n")
		c := p.expect("sendmsg")
		if c.Headers.Get("execute-app-name") != "answer" {
			t.Errorf("first command after the rejected ones: %v", c.Headers)
		}
		p.send(reply("+OK"))
	})
	for i, err := range <-errs {
		if !errors.Is(err, ErrInvalidLine) {
			t.Errorf("call %d: %v, want ErrInvalidLine", i, err)
		}
	}
}

// TestServerShutdownDrains: Shutdown waits for a handler that finishes on
// its own, and returns nil.
func TestServerShutdownDrains(t *testing.T) {
	checkNoLeak(t)
	started, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	finished := false
	s := &Server{Addr: "127.0.0.1:0", Handler: func(ctx context.Context, c *OutboundConn) {
		close(started)
		<-release
		err := c.Hangup(ctx, "NORMAL_CLEARING")
		mu.Lock()
		finished = err == nil
		mu.Unlock()
	}}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	dialPeer(t, s.Address().String(), func(p *peerConn) {
		p.expect("connect")
		p.send("Event-Name: CHANNEL_DATA\nUnique-ID: u1\nContent-Type: command/reply\nReply-Text: %2BOK%0A\n\n")
		c := p.expect("sendmsg")
		if c.Headers.Get("call-command") != "hangup" || c.Headers.Get("hangup-cause") != "NORMAL_CLEARING" {
			t.Errorf("hangup headers %v", c.Headers)
		}
		p.send(reply("+OK"))
		p.command() // until the server closes
	})
	<-started
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	time.Sleep(20 * time.Millisecond) // give Shutdown the chance to return early (it must not)
	close(release)
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	mu.Lock()
	if !finished {
		t.Error("Shutdown returned before the handler finished its hangup")
	}
	mu.Unlock()
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
}

// TestServerMaxConns: a connection over MaxConns is closed at once and
// the one being served is not disturbed.
func TestServerMaxConns(t *testing.T) {
	checkNoLeak(t)
	release := make(chan struct{})
	started := make(chan struct{})
	s := &Server{Addr: "127.0.0.1:0", MaxConns: 1, Handler: func(ctx context.Context, c *OutboundConn) {
		close(started)
		<-release
	}}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	channelData := "Unique-ID: u1\nContent-Type: command/reply\nReply-Text: %2BOK%0A\n\n"
	first := dialPeer(t, s.Address().String(), func(p *peerConn) {
		p.expect("connect")
		p.send(channelData)
		p.command() // until the server closes
	})
	<-started
	<-dialPeer(t, s.Address().String(), func(p *peerConn) {
		if c, err := p.command(); err == nil {
			t.Errorf("second connection got %q, want it closed", c.Line)
		}
	})
	if n := s.Refused(); n != 1 {
		t.Errorf("Refused() = %d, want 1", n)
	}
	close(release)
	<-first
	if err := s.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
}

// TestPipeline: the commands go out in one write, before any reply, and
// their replies come back in order; an -ERR among them is reported while
// the replies after it are consumed, so the connection stays in step.
func TestPipeline(t *testing.T) {
	checkNoLeak(t)
	type result struct {
		replies []*Message
		err     error
		next    error
	}
	res := make(chan result, 1)
	s := startServer(t, func(ctx context.Context, c *OutboundConn) {
		var cmds []*Command
		f, _ := FilterCommand("Unique-ID", "u1")
		ev, _ := SubscribeCommand(FormatPlain, "CHANNEL_HANGUP", "CUSTOM", "spandsp::rxfaxresult")
		ex, _ := ExecuteCommand("answer", "")
		rx, _ := ExecuteCommand("rxfax", "/tmp/a.tif")
		cmds = append(cmds, LingerCommand(), f, ev, ex, rx)
		replies, err := c.Pipeline(ctx, cmds...)
		res <- result{replies, err, c.Execute(ctx, "hangup", "")}
	})
	dialPeer(t, s.Address().String(), func(p *peerConn) {
		p.expect("connect")
		p.send("Unique-ID: u1\nContent-Type: command/reply\nReply-Text: %2BOK%0A\n\n")
		// Every command is there before the first reply.
		p.expect("linger")
		p.expect("filter Unique-ID u1")
		p.expect("event plain CHANNEL_HANGUP CUSTOM spandsp::rxfaxresult")
		if c := p.expect("sendmsg"); c.Headers.Get("execute-app-name") != "answer" || c.Headers.Get("event-lock") != "true" {
			t.Errorf("answer: %v", c.Headers)
		}
		if c := p.expect("sendmsg"); c.Headers.Get("execute-app-arg") != "/tmp/a.tif" {
			t.Errorf("rxfax: %v", c.Headers)
		}
		p.send(reply("+OK will linger") + reply("+OK filter added") + reply("-ERR no such event") + reply("+OK") + reply("+OK"))
		if c := p.expect("sendmsg"); c.Headers.Get("execute-app-name") != "hangup" {
			t.Errorf("next command: %v", c.Headers)
		}
		p.send(reply("+OK hangup"))
	})
	r := <-res
	var re *ReplyError
	if !errors.As(r.err, &re) || re.Text != "-ERR no such event" {
		t.Errorf("err = %v, want the -ERR of the third command", r.err)
	}
	if len(r.replies) != 5 || r.replies[0].ReplyText() != "+OK will linger" || r.replies[4].ReplyText() != "+OK" {
		t.Errorf("replies %d: %v", len(r.replies), r.replies)
	}
	if r.next != nil {
		t.Errorf("the command after the pipeline: %v", r.next)
	}
}

// TestEventRelease: a released event's memory takes later messages,
// while the values read from it before stay what they were.
func TestEventRelease(t *testing.T) {
	checkNoLeak(t)
	type got struct{ first, again, second string }
	res := make(chan got, 1)
	s := startServer(t, func(ctx context.Context, c *OutboundConn) {
		e1 := <-c.Events()
		v := e1.Get("Event-Name")
		e1.Release()
		e2 := <-c.Events()
		res <- got{v, v, e2.Get("Event-Name")}
		e2.Release()
		c.Exit(ctx)
	})
	event := func(name string) string {
		body := "Event-Name: " + name + "\nUnique-ID: u1\nPadding: " + strings.Repeat("x", 3000) + "\n\n"
		return fmt.Sprintf("Content-Length: %d\nContent-Type: text/event-plain\n\n%s", len(body), body)
	}
	dialPeer(t, s.Address().String(), func(p *peerConn) {
		p.expect("connect")
		p.send("Unique-ID: u1\nContent-Type: command/reply\nReply-Text: %2BOK%0A\n\n")
		p.send(event("FIRST_EVENT"))
		p.send(event("OTHER_EVENT"))
		p.expect("exit")
		p.send(bye)
	})
	if g := <-res; g.first != "FIRST_EVENT" || g.second != "OTHER_EVENT" {
		t.Errorf("values %+v", g)
	}
}
