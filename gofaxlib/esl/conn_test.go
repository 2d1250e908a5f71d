package esl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAPIDBMisc replays the captured api session and checks every reply
// against SCENARIOS.md.
func TestAPIDBMisc(t *testing.T) {
	checkNoLeak(t)
	addr := listenPeer(t, replayPeer(t, "api-db-misc_A_plain", func(i int, got *Command, want []byte) {
		if err := sameCommand(got, want); err != nil {
			t.Errorf("command %d: %v", i, err)
		}
	}))
	ctx := testCtx(t)
	c, err := Dial(ctx, addr, "ClueCon")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tests := []struct {
		cmd     string
		out     string
		errText string // "" for no error
		noReply bool
	}{
		{"db insert/fallback/5551234/1700000000", "+OK", "", false},
		{"db exists/fallback/5551234", "true", "", false},
		{"db select/fallback/5551234", "1700000000", "", false},
		{"db list/fallback", "5551234", "", false},
		{"db select/override-5551234/fax_enable_t38", "-ERR no reply\n", "-ERR no reply", true},
		{"db exists/override-5551234/fax_enable_t38", "false", "", false},
		{"db delete/fallback/5551234", "+OK", "", false},
		{"db exists/fallback/5551234", "false", "", false},
		{"db select/fallback/5551234", "-ERR no reply\n", "-ERR no reply", true},
		{"db list/fallback", "-ERR no reply\n", "-ERR no reply", true},
		{"uuid_kill 00000000-1111-2222-3333-444444444444", "-ERR No such channel!\n", "-ERR No such channel!", false},
		{"status", "", "", false},
		{"nosuchcommand", "-ERR nosuchcommand Command not found!\n", "-ERR nosuchcommand Command not found!", false},
	}
	for _, tt := range tests {
		out, err := c.API(ctx, tt.cmd)
		if tt.cmd == "status" {
			if !strings.HasPrefix(out, "UP 0 years") || !strings.HasSuffix(out, "240K/8192K\n") || err != nil {
				t.Errorf("status: %q, %v", out, err)
			}
			continue
		}
		if out != tt.out {
			t.Errorf("api %s: got %q, want %q", tt.cmd, out, tt.out)
		}
		var re *ReplyError
		switch {
		case tt.errText == "" && err != nil:
			t.Errorf("api %s: unexpected error %v", tt.cmd, err)
		case tt.errText != "" && (!errors.As(err, &re) || re.Text != tt.errText):
			t.Errorf("api %s: got error %v, want %q", tt.cmd, err, tt.errText)
		}
		if errors.Is(err, ErrNoReply) != tt.noReply {
			t.Errorf("api %s: errors.Is(err, ErrNoReply) = %v", tt.cmd, !tt.noReply)
		}
	}
	m, err := c.Do(ctx, &Command{Line: "nosuchcommand"})
	var re *ReplyError
	if !errors.As(err, &re) || re.Text != "-ERR command not found" || m.ReplyText() != "-ERR command not found" {
		t.Errorf("bare nosuchcommand: %v, %v", m, err)
	}
	for _, cmd := range []string{"db insert/fallback/5551234/1700000000", "db insert/fallback/5551299/1700000099"} {
		if out, err := c.API(ctx, cmd); out != "+OK" || err != nil {
			t.Errorf("%s: %q %v", cmd, out, err)
		}
	}
	if out, err := c.API(ctx, "db list/fallback"); out != "5551234,5551299" || err != nil {
		t.Errorf("list: %q %v", out, err)
	}
	for _, cmd := range []string{"db delete/fallback/5551234", "db delete/fallback/5551299"} {
		if out, err := c.API(ctx, cmd); out != "+OK" || err != nil {
			t.Errorf("%s: %q %v", cmd, out, err)
		}
	}
	if err := c.Exit(ctx); err != nil {
		t.Errorf("exit: %v", err)
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Errorf("after exit Err() = %v", c.Err())
	}
	checkOneNotice(t, c)
}

func TestAuthWrongPassword(t *testing.T) {
	checkNoLeak(t)
	addr := listenPeer(t, replayPeer(t, "auth-wrong-password_A_plain", func(i int, got *Command, want []byte) {
		if err := sameCommand(got, want); err != nil {
			t.Error(err)
		}
	}))
	c, err := Dial(testCtx(t), addr, "WrongPassword")
	if !errors.Is(err, ErrAuth) || c != nil {
		t.Fatalf("got %v, %v; want ErrAuth", c, err)
	}
	if !strings.Contains(err.Error(), "-ERR invalid") {
		t.Errorf("error %q does not name the reply", err)
	}
}

func TestDialErrors(t *testing.T) {
	tests := []struct {
		name   string
		script func(p *peerConn)
		want   error
	}{
		{"rude rejection", func(p *peerConn) {
			p.send("Content-Type: text/rude-rejection\nContent-Length: 34\n\nAccess Denied, go away.\nGoodbye.\n\n")
		}, ErrRejected},
		{"closed before greeting", func(p *peerConn) {}, io.ErrUnexpectedEOF},
		{"closed after auth", func(p *peerConn) { p.send(greeting); p.command() }, io.EOF},
		{"garbage", func(p *peerConn) { p.send("HTTP/1.1 400 Bad Request\r\n\r\n") }, ErrMalformed},
		{"wrong greeting", func(p *peerConn) { p.send(reply("+OK")) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeak(t)
			addr := listenPeer(t, tt.script)
			c, err := Dial(testCtx(t), addr, "ClueCon")
			if err == nil || c != nil {
				t.Fatalf("Dial succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) && !(tt.want == io.ErrUnexpectedEOF && errors.Is(err, io.EOF)) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			t.Log(err)
		})
	}
	t.Run("bad password", func(t *testing.T) {
		if _, err := Dial(testCtx(t), "127.0.0.1:1", "a\nb"); !errors.Is(err, ErrInvalidLine) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("handshake deadline", func(t *testing.T) {
		checkNoLeak(t)
		addr := listenPeer(t, func(p *peerConn) { p.command() })
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if _, err := Dial(ctx, addr, "ClueCon"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v", err)
		}
	})
}

// bgJob is the BACKGROUND_JOB event FreeSWITCH sends for job id.
func bgJob(id, body string) string {
	e := &Event{Headers: Headers{
		{"Event-Name", "BACKGROUND_JOB"},
		{"Job-UUID", id},
		{"Job-Command", "originate"},
	}, Body: []byte(body)}
	m, _ := e.Message()
	b, _ := AppendMessage(nil, m)
	return string(b)
}

func TestBgAPI(t *testing.T) {
	for _, mode := range []string{"event after reply", "event before reply", "peer's own Job-UUID"} {
		early := mode == "event before reply"
		t.Run(mode, func(t *testing.T) {
			checkNoLeak(t)
			addr := listenPeer(t, func(p *peerConn) {
				login(p)
				p.expect("event plain BACKGROUND_JOB")
				p.send(reply("+OK event listener enabled plain"))
				cmd := p.expect("bgapi originate sofia/external/5551234@127.0.0.1 &txfax(/tmp/x.tif)")
				id := cmd.Headers.Get("Job-UUID")
				if id == "" {
					t.Error("no Job-UUID header")
				}
				if mode == "peer's own Job-UUID" {
					id = "84969a07-d551-4bd7-b1a2-4c384cc950d5"
				}
				ok := reply("+OK Job-UUID: "+id) + "Job-UUID: " + id + "\n\n"
				ok = strings.Replace(ok, "\n\nJob-UUID", "\nJob-UUID", 1)
				other := bgJob("ffffffff-0000-0000-0000-000000000000", "+OK other\n")
				if early {
					p.send(bgJob(id, "-ERR USER_BUSY\n") + other + ok)
				} else {
					p.send(ok + other + bgJob(id, "-ERR USER_BUSY\n"))
				}
				p.expect("exit")
				p.send(bye)
			})
			ctx := testCtx(t)
			c, err := Dial(ctx, addr, "ClueCon")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Subscribe(ctx, FormatPlain, "BACKGROUND_JOB"); err != nil {
				t.Fatal(err)
			}
			job, err := c.BgAPI(ctx, "originate sofia/external/5551234@127.0.0.1 &txfax(/tmp/x.tif)")
			if err != nil {
				t.Fatal(err)
			}
			e, err := job.Wait(ctx)
			var re *ReplyError
			if !errors.As(err, &re) || re.Reason() != "USER_BUSY" || e.JobUUID() != job.UUID {
				t.Errorf("Wait: %v, %v", e, err)
			}
			if mode == "peer's own Job-UUID" && job.UUID != "84969a07-d551-4bd7-b1a2-4c384cc950d5" {
				t.Errorf("job.UUID = %s, want the peer's", job.UUID)
			}
			select {
			case <-job.Done():
			default:
				t.Error("Done not closed")
			}
			other := <-c.Events()
			if other.JobUUID() != "ffffffff-0000-0000-0000-000000000000" {
				t.Errorf("unclaimed job event not on Events: %v", other)
			}
			if err := c.Exit(ctx); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestConcurrentCommands sends commands from many goroutines: each gets
// its own reply.
func TestConcurrentCommands(t *testing.T) {
	checkNoLeak(t)
	const n = 50
	addr := listenPeer(t, func(p *peerConn) {
		login(p)
		for range n {
			c, err := p.command()
			if err != nil {
				t.Error(err)
				return
			}
			p.send(apiResponse("reply to " + c.Line))
		}
	})
	ctx := testCtx(t)
	c, err := Dial(ctx, addr, "ClueCon")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cmd := fmt.Sprintf("echo %d", i)
			out, err := c.API(ctx, cmd)
			if err != nil || out != "reply to api "+cmd {
				t.Errorf("%s: %q, %v", cmd, out, err)
			}
		})
	}
	wg.Wait()
}

// TestCommandDeadline: a command whose context ends returns at once; its
// late reply is discarded and the next command gets its own.
func TestCommandDeadline(t *testing.T) {
	checkNoLeak(t)
	release := make(chan struct{})
	addr := listenPeer(t, func(p *peerConn) {
		login(p)
		p.expect("api slow")
		<-release
		p.send(apiResponse("slow"))
		p.expect("api fast")
		p.send(apiResponse("fast"))
	})
	ctx := testCtx(t)
	c, err := Dial(ctx, addr, "ClueCon")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := c.API(short, "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow: %v", err)
	}
	close(release)
	if out, err := c.API(ctx, "fast"); out != "fast" || err != nil {
		t.Errorf("fast: %q, %v", out, err)
	}
}

// TestPeerFailures: whatever the peer does wrong, pending commands fail
// with an error, nothing hangs, and the Conn's goroutine ends.
func TestPeerFailures(t *testing.T) {
	tests := []struct {
		name  string
		after string // sent in answer to "api x"
		want  error
	}{
		{"close mid-reply", "Content-Type: api/response\nContent-Length: 100\n\nshort", io.ErrUnexpectedEOF},
		{"close mid-headers", "Content-Type: api/resp", io.ErrUnexpectedEOF},
		{"close", "", io.EOF},
		{"huge Content-Length", "Content-Type: api/response\nContent-Length: 999999999999\n\n", ErrBodyTooLarge},
		{"garbage", "\x00\x01\x02 no colon here\n\n", ErrMalformed},
		{"reply without command", reply("+OK") + reply("+OK"), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeak(t)
			addr := listenPeer(t, func(p *peerConn) {
				login(p)
				p.expect("api x")
				p.send(tt.after)
				if tt.want == ErrMalformed {
					p.command() // wait for the client to hang up
				}
			})
			ctx := testCtx(t)
			c, err := Dial(ctx, addr, "ClueCon")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.API(ctx, "x")
			if tt.name == "reply without command" {
				err = nil // the first reply was right
			} else if !errors.Is(err, tt.want) {
				t.Errorf("API: got %v, want %v", err, tt.want)
			}
			<-c.Done()
			if !errors.Is(c.Err(), tt.want) {
				t.Errorf("Err: got %v, want %v", c.Err(), tt.want)
			}
			if _, err := c.API(ctx, "y"); err == nil {
				t.Error("API after failure succeeded")
			}
		})
	}
}

// TestUnknownTypeSkipped: a frame of unknown type is skipped and the
// connection stays in step.
func TestUnknownTypeSkipped(t *testing.T) {
	checkNoLeak(t)
	addr := listenPeer(t, func(p *peerConn) {
		login(p)
		p.expect("api x")
		p.send("Content-Type: text/new-thing\nContent-Length: 3\n\nabc" +
			"Content-Type: text/event-xml\nContent-Length: 9\n\n<event/>\n" +
			"Content-Type: log/data\nContent-Length: 2\n\nhi" +
			apiResponse("x done"))
	})
	ctx := testCtx(t)
	c, err := Dial(ctx, addr, "ClueCon")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if out, err := c.API(ctx, "x"); out != "x done" || err != nil {
		t.Errorf("got %q, %v", out, err)
	}
}

// TestEventOverflow: a consumer that does not drain Events fails the
// connection with ErrEventOverflow, and a pending command gets an error
// instead of hanging.
func TestEventOverflow(t *testing.T) {
	checkNoLeak(t)
	ev := &Event{Headers: Headers{{"Event-Name", "HEARTBEAT"}}}
	m, _ := ev.Message()
	one, _ := AppendMessage(nil, m)
	addr := listenPeer(t, func(p *peerConn) {
		login(p)
		p.expect("api x")
		p.send(strings.Repeat(string(one), 5))
		p.command()
	})
	ctx := testCtx(t)
	c, err := Dial(ctx, addr, "ClueCon", WithEventQueue(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.API(ctx, "x"); !errors.Is(err, ErrEventOverflow) {
		t.Errorf("API: %v", err)
	}
	n := 0
	for range c.Events() {
		n++
	}
	if n != 3 {
		t.Errorf("%d events delivered, want the 3 queued", n)
	}
}

// TestCloseWaits: Close returns only after the read goroutine ended, and
// a command pending at that moment fails with ErrClosed.
func TestCloseWaits(t *testing.T) {
	checkNoLeak(t)
	addr := listenPeer(t, func(p *peerConn) {
		login(p)
		p.command()
		p.command()
	})
	ctx := testCtx(t)
	c, err := Dial(ctx, addr, "ClueCon")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.API(ctx, "never answered")
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the command be sent; the test holds either way
	c.Close()
	select {
	case <-c.Done():
	default:
		t.Error("Close returned before the read loop ended")
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("pending API: %v", err)
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Errorf("Err: %v", c.Err())
	}
	c.Close() // idempotent
}

func TestInjectionRejected(t *testing.T) {
	checkNoLeak(t)
	addr := listenPeer(t, func(p *peerConn) {
		login(p)
		p.expect("api ok")
		p.send(apiResponse("fine"))
	})
	ctx := testCtx(t)
	c, err := Dial(ctx, addr, "ClueCon")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bad := []struct {
		name string
		call func() error
	}{
		{"api LF", func() error { _, err := c.API(ctx, "status\n\nexit"); return err }},
		{"api CR", func() error { _, err := c.API(ctx, "status\rx"); return err }},
		{"bgapi LF", func() error { _, err := c.BgAPI(ctx, "originate a\nb"); return err }},
		{"empty api", func() error { _, err := c.API(ctx, " "); return err }},
		{"event name", func() error { return c.Subscribe(ctx, FormatPlain, "ALL\nexit") }},
		{"event name space", func() error { return c.Subscribe(ctx, FormatPlain, "A B") }},
		{"filter value", func() error { return c.Filter(ctx, "Unique-ID", "x\n") }},
		{"filter header", func() error { return c.Filter(ctx, "Unique ID", "x") }},
		{"sendmsg uuid", func() error { return c.SendMsg(ctx, "u\nexit") }},
		{"sendmsg header value", func() error {
			return c.SendMsg(ctx, "u", Header{"execute-app-arg", "a\nexecute-app-name: hangup"})
		}},
		{"sendmsg header name", func() error { return c.SendMsg(ctx, "u", Header{"a: b\n", "c"}) }},
	}
	for _, tt := range bad {
		if err := tt.call(); !errors.Is(err, ErrInvalidLine) {
			t.Errorf("%s: got %v, want ErrInvalidLine", tt.name, err)
		}
	}
	if err := c.Subscribe(ctx, FormatXML, "ALL"); !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("xml: %v", err)
	}
	// Nothing of the above reached the peer: its first command is this.
	if out, err := c.API(ctx, "ok"); out != "fine" || err != nil {
		t.Errorf("api ok: %q %v", out, err)
	}
}

// TestClientReplayCall plays captured sending sessions to the client:
// "event <format> ALL", bgapi originate, the whole call, exit. The job
// result reaches the Job, every other event reaches Events in capture
// order, and the fax result is the captured one.
func TestClientReplayCall(t *testing.T) {
	tests := []struct {
		capture, format, job, t38 string
	}{
		{"t38_A_plain", FormatPlain, "+OK 55b8d285-a364-4e47-847a-957b30a744ec\n", "negotiated"},
		{"t38_A_json", FormatJSON, "+OK bd783b7c-0caf-44e7-87e4-9f63288c0d86\n", "negotiated"},
		{"g711_A_plain", FormatPlain, "", "off"},
		{"busy-486_A_json", FormatJSON, "-ERR USER_BUSY\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			checkNoLeak(t)
			sent := readSent(t, "testdata/transcripts/"+tt.capture+".raw.sent")
			originate := strings.TrimSuffix(strings.SplitN(string(sent[2].data), "\n", 2)[0], "\n")
			// The events the capture holds before the client's exit.
			raw, _ := os.ReadFile("testdata/transcripts/" + tt.capture + ".raw")
			var want []*Event
			for _, m := range readAll(t, bytes.NewReader(raw[:sent[3].rxOffset])) {
				if e, err := ParseEvent(m); err == nil && e.Name() != "BACKGROUND_JOB" {
					want = append(want, e)
				}
			}
			addr := listenPeer(t, replayPeer(t, tt.capture, func(i int, got *Command, want []byte) {
				if err := sameCommand(got, want, "Job-UUID"); err != nil {
					t.Errorf("command %d: %v", i, err)
				}
			}))
			ctx := testCtx(t)
			c, err := Dial(ctx, addr, "ClueCon", WithEventQueue(len(want)+1))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Subscribe(ctx, tt.format, "ALL"); err != nil {
				t.Fatal(err)
			}
			job, err := c.BgAPI(ctx, strings.TrimPrefix(originate, "bgapi "))
			if err != nil {
				t.Fatal(err)
			}
			var got []*Event
			for len(got) < len(want) {
				e, ok := <-c.Events()
				if !ok {
					t.Fatalf("events ended after %d of %d: %v", len(got), len(want), c.Err())
				}
				got = append(got, e)
			}
			jobEvent, err := job.Wait(ctx)
			if jobEvent == nil || (tt.job != "" && string(jobEvent.Body) != tt.job) {
				t.Fatalf("job: %v, %v", jobEvent, err)
			}
			if strings.HasPrefix(tt.job, "-ERR") != (err != nil) {
				t.Errorf("job error %v for body %q", err, jobEvent.Body)
			}
			var result *Event
			for i := range want {
				if got[i].Format != tt.format || got[i].Get("Event-Sequence") != want[i].Get("Event-Sequence") {
					t.Fatalf("event %d: got %s #%s, want #%s", i, got[i].Name(), got[i].Get("Event-Sequence"), want[i].Get("Event-Sequence"))
				}
				if got[i].Subclass() == "spandsp::txfaxresult" {
					result = got[i]
				}
			}
			if tt.t38 != "" && (result == nil || result.Get("fax-success") != "1" || result.Get("fax-t38-status") != tt.t38) {
				t.Errorf("txfaxresult: %v", result)
			}
			if err := c.Exit(ctx); err != nil {
				t.Error(err)
			}
			for e := range c.Events() {
				if e.Format != FormatNotice {
					t.Errorf("event after exit: %s", e.Name())
				}
			}
		})
	}
}

// TestStartExitShutsDownSending: after "exit" the peer reads the end of
// the stream at once, before it replies (so FreeSWITCH's end sees the
// close without waiting for this side), the reply and the disconnect
// notice still arrive, and a command after it is refused without
// harming the connection.
func TestStartExitShutsDownSending(t *testing.T) {
	checkNoLeak(t)
	eof := make(chan error, 1)
	addr := listenPeer(t, func(p *peerConn) {
		login(p)
		p.expect("exit")
		_, err := p.command()
		eof <- err
		p.send(bye)
	})
	ctx := testCtx(t)
	c, err := Dial(ctx, addr, "ClueCon")
	if err != nil {
		t.Fatal(err)
	}
	finish := c.StartExit(ctx)
	if err := <-eof; err != io.EOF {
		t.Errorf("peer read after exit: %v, want EOF", err)
	}
	if _, err := c.API(ctx, "status"); !errors.Is(err, ErrClosed) {
		t.Errorf("a command after exit: %v, want ErrClosed", err)
	}
	if err := finish(ctx); err != nil {
		t.Errorf("exit: %v", err)
	}
	checkOneNotice(t, c)
}

// checkOneNotice reads c's events to their end and checks that exactly
// one was a disconnect notice.
func checkOneNotice(t *testing.T, c *Conn) {
	t.Helper()
	var notices int
	for e := range c.Events() {
		if e.Format == FormatNotice {
			notices++
		}
	}
	if notices != 1 {
		t.Errorf("%d disconnect notices, want 1", notices)
	}
}
