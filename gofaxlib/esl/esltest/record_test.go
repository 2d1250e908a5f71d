package esltest

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// TestRecording checks what tests read back: mod_db contents, commands
// per connection, kills.
func TestRecording(t *testing.T) {
	s := New(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := esl.Dial(ctx, s.Addr(), s.Password())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.SetDB("fallback", "5551234", "1700000000")
	for cmd, want := range map[string]string{
		"db insert/override-5551234/fax_enable_t38/false":  "+OK",
		"db select/fallback/5551234":                       "1700000000",
		"uuid_kill 00000000-1111-2222-3333-444444444444":   "-ERR No such channel!\n",
		"uuid_exists 00000000-1111-2222-3333-444444444444": "false",
	} {
		if got, err := c.API(ctx, cmd); got != want {
			t.Errorf("api %s = %q (%v), want %q", cmd, got, err, want)
		}
	}
	db := s.DB()
	if len(db) != 2 || db["override-5551234/fax_enable_t38"] != "false" || db["fallback/5551234"] != "1700000000" {
		t.Errorf("DB() = %v", db)
	}
	if k := s.Kills(); len(k) != 1 || k[0] != "00000000-1111-2222-3333-444444444444" {
		t.Errorf("Kills() = %q", k)
	}
	if err := c.Exit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(ctx, func(s *Sim) bool { return len(s.Conns()) == 1 && s.Conns()[0].Closed }); err != nil {
		t.Fatal(err)
	}
	conn := s.Conns()[0]
	var lines []string
	for _, cmd := range conn.Commands {
		lines = append(lines, cmd.Line)
	}
	if conn.ID != 1 || conn.Outbound || lines[0] != "auth ClueCon" || lines[len(lines)-1] != "exit" ||
		!slices.Contains(lines, "api db select/fallback/5551234") {
		t.Errorf("Conns()[0] = %+v", conn)
	}
}

// TestInboundSendmsgHangup: "sendmsg <uuid>" with call-command hangup on
// the inbound socket ends a call that would otherwise stay up.
func TestInboundSendmsgHangup(t *testing.T) {
	doc, _ := filepath.Abs("testdata/sent-2page-g3.tif")
	s := New(t, Options{})
	s.Route("5552000", Scenario{T38: true, NeverHangup: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := dialClient(ctx, t, s)
	_, uuid := cl.originate(ctx, "{fax_enable_t38=true}sofia/gateway/gw1/5552000 &txfax("+doc+")")
	cl.collect(ctx, uuid, func(e *esl.Event) bool { return e.Subclass() == "spandsp::txfaxresult" })
	if err := cl.c.SendMsg(ctx, uuid, esl.Header{Name: "call-command", Value: "hangup"},
		esl.Header{Name: "hangup-cause", Value: "NORMAL_CLEARING"}); err != nil {
		t.Fatal(err)
	}
	evs := cl.collect(ctx, uuid, isDestroy)
	if h := findEvent(evs, "CHANNEL_HANGUP", ""); h == nil || h.Var("sip_hangup_disposition") != "send_bye" {
		t.Errorf("CHANNEL_HANGUP %v", h)
	}
	if err := cl.c.SendMsg(ctx, uuid, esl.Header{Name: "call-command", Value: "hangup"}); err == nil {
		t.Error("sendmsg to a gone channel succeeded")
	}
}

// TestLoopbackFaults applies Options.Default's fault knobs to loopback
// calls: the receiving leg hangs up during page 2, or the sender's event
// socket is dropped.
func TestLoopbackFaults(t *testing.T) {
	doc, _ := filepath.Abs("testdata/sent-2page-g3.tif")
	for _, tc := range []struct {
		name    string
		sc      Scenario
		code    int
		pages   int
		dropped bool
	}{
		{"hangup during page 2", Scenario{HangupAtPage: 2}, 49, 1, false},
		{"dropped event socket", Scenario{DropESL: true}, 0, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := &receiver{dir: t.TempDir(), t38: true}
			s := New(t, Options{SocketAddr: startReceiver(t, rc), Default: tc.sc})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cl := dialClient(ctx, t, s, "BACKGROUND_JOB")
			_, uuid := cl.originate(ctx, "{fax_enable_t38=true,fax_enable_t38_request=true}sofia/gateway/gw1/5552000 &txfax("+doc+")")
			a, err := s.WaitCall(ctx, func(r CallRecord) bool { return r.UUID == uuid && r.Ended })
			if err != nil {
				t.Fatal(err)
			}
			if err := s.WaitIdle(ctx); err != nil {
				t.Fatal(err)
			}
			b, _ := s.Call(a.PeerUUID)
			for _, r := range []CallRecord{a, b} {
				if r.Result == nil || r.Result.Code != tc.code || r.Result.Pages != tc.pages {
					t.Errorf("%s: result %+v, want %d with %d pages", r.UUID, r.Result, tc.code, tc.pages)
				}
			}
			if n, err := CountPages(b.File); err != nil || n != tc.pages {
				t.Errorf("received %d pages (%v), want %d", n, err, tc.pages)
			}
			select {
			case <-cl.c.Done():
				if !tc.dropped {
					t.Error("event socket dropped")
				}
			default:
				if tc.dropped {
					t.Error("event socket not dropped")
				}
			}
		})
	}
}

// TestLoopbackRespond: the listener's "respond <code>" reaches the sender
// as the cause sofia maps it to.
func TestLoopbackRespond(t *testing.T) {
	doc, _ := filepath.Abs("testdata/sent-2page-g3.tif")
	for code, want := range map[string]string{
		"486": "-ERR USER_BUSY\n", "603": "-ERR CALL_REJECTED\n", "404": "-ERR UNALLOCATED_NUMBER\n",
		"480": "-ERR NO_USER_RESPONSE\n", "503": "-ERR NORMAL_TEMPORARY_FAILURE\n", "500": "-ERR NORMAL_CLEARING\n",
	} {
		t.Run(code, func(t *testing.T) {
			rc := &receiver{dir: t.TempDir(), respond: code}
			s := New(t, Options{SocketAddr: startReceiver(t, rc)})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cl := dialClient(ctx, t, s, "BACKGROUND_JOB")
			if body, _ := cl.originate(ctx, "sofia/gateway/gw1/5552000 &txfax("+doc+")"); body != want {
				t.Errorf("body %q, want %q", body, want)
			}
		})
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{Success: "success", Busy: "USER_BUSY", NoFax: "nofax", NotFound: "UNALLOCATED_NUMBER"} {
		if o.String() != want {
			t.Errorf("%d.String() = %q, want %q", o, o.String(), want)
		}
	}
}

// TestKeepRecords: with KeepRecords set, Calls and Conns forget the
// oldest ended calls and closed connections, never live ones.
func TestKeepRecords(t *testing.T) {
	doc, _ := filepath.Abs("testdata/sent-2page-g3.tif")
	s := New(t, Options{KeepRecords: 2})
	s.Route("5552000", Scenario{T38: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := dialClient(ctx, t, s, "BACKGROUND_JOB")
	var uuids []string
	for range 4 {
		_, uuid := cl.originate(ctx, "sofia/gateway/gw1/5552000 &txfax("+doc+")")
		if _, err := s.WaitCall(ctx, func(r CallRecord) bool { return r.UUID == uuid && r.Ended }); err != nil {
			t.Fatal(err)
		}
		uuids = append(uuids, uuid)
	}
	var kept []string
	for _, r := range s.Calls() {
		kept = append(kept, r.UUID)
	}
	if !slices.Equal(kept, uuids[2:]) {
		t.Errorf("Calls() %q, want the last two of %q", kept, uuids)
	}
	for range 3 {
		c, err := esl.Dial(ctx, s.Addr(), s.Password())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Exit(ctx); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	othersClosed := func(s *Sim) bool {
		rs := s.Conns()
		return rs[len(rs)-1].ID == 4 && !slices.ContainsFunc(rs[1:], func(r ConnRecord) bool { return !r.Closed })
	}
	if err := s.Wait(ctx, othersClosed); err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, r := range s.Conns() {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []int{1, 3, 4}) {
		t.Errorf("Conns() IDs %v, want 1 (open) and the last two closed, 3 and 4", ids)
	}
}
