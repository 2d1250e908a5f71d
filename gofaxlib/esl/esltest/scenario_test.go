package esltest

import (
	"context"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// client is a gofaxsend-like inbound connection subscribed to ALL.
type client struct {
	t testing.TB
	c *esl.Conn
}

// dialClient connects and subscribes to events (default ALL).
func dialClient(ctx context.Context, t testing.TB, s *Sim, events ...string) *client {
	t.Helper()
	c, err := esl.Dial(ctx, s.Addr(), s.Password())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if len(events) == 0 {
		events = []string{"ALL"}
	}
	if err := c.Subscribe(ctx, "plain", events...); err != nil {
		t.Fatal(err)
	}
	return &client{t: t, c: c}
}

// originate runs bgapi originate and returns the BACKGROUND_JOB body and
// the channel UUID ("" on failure).
func (cl *client) originate(ctx context.Context, args string) (string, string) {
	cl.t.Helper()
	job, err := cl.c.BgAPI(ctx, "originate "+args)
	if err != nil {
		cl.t.Fatal(err)
	}
	ev, err := job.Wait(ctx)
	if ev == nil {
		cl.t.Fatal(err)
	}
	body := string(ev.Body)
	uuid, _ := strings.CutPrefix(strings.TrimSpace(body), "+OK ")
	if strings.HasPrefix(body, "-ERR") {
		uuid = ""
	}
	return body, uuid
}

// collect gathers events (of uuid, or all if "") until stop returns true.
func (cl *client) collect(ctx context.Context, uuid string, stop func(*esl.Event) bool) []*esl.Event {
	cl.t.Helper()
	var evs []*esl.Event
	for {
		select {
		case e, ok := <-cl.c.Events():
			if !ok {
				cl.t.Fatalf("connection ended: %v", cl.c.Err())
			}
			if uuid != "" && e.UUID() != uuid {
				continue
			}
			evs = append(evs, e)
			if stop(e) {
				return evs
			}
		case <-ctx.Done():
			cl.t.Fatalf("waiting for events: %v (got %d)", ctx.Err(), len(evs))
		}
	}
}

func isDestroy(e *esl.Event) bool { return e.Name() == "CHANNEL_DESTROY" }

func count(evs []*esl.Event, name, subclass string) int {
	n := 0
	for _, e := range evs {
		if e.Name() == name && e.Subclass() == subclass {
			n++
		}
	}
	return n
}

// TestScenarios runs every far-end outcome through a gofaxsend-style
// originate and checks what the sending side sees.
func TestScenarios(t *testing.T) {
	doc, _ := filepath.Abs("testdata/sent-2page-g3.tif")
	const vars = "{fax_ident=1111,fax_enable_t38=true,fax_enable_t38_request=true,origination_caller_id_number=5551000}"
	type want struct {
		body       string // BACKGROUND_JOB body prefix
		q850       string
		sip        string
		code       string // fax-result-code of txfaxresult, "" for none
		pages      string
		t38        string
		negotiates int
		progress   bool
		badRows    string
		response   string // txfax Application-Response
	}
	for _, tc := range []struct {
		name string
		sc   Scenario
		dial string
		doc  string
		want want
	}{
		{"success-t38", Scenario{T38: true}, "", "", want{body: "+OK", q850: "16", code: "0", pages: "2", t38: "negotiated", negotiates: 1}},
		{"success-g711", Scenario{}, "", "", want{body: "+OK", q850: "16", code: "0", pages: "2", t38: "off", negotiates: 1}},
		{"ring-then-answer", Scenario{T38: true, RingTime: 5 * time.Second}, "", "", want{body: "+OK", q850: "16", code: "0", pages: "2", t38: "negotiated", negotiates: 1, progress: true}},
		{"busy", Scenario{Outcome: Busy}, "", "", want{body: "-ERR USER_BUSY", q850: "17", sip: "486"}},
		{"rejected", Scenario{Outcome: Rejected}, "", "", want{body: "-ERR CALL_REJECTED", q850: "21", sip: "603"}},
		{"not-found", Scenario{Outcome: NotFound}, "", "", want{body: "-ERR UNALLOCATED_NUMBER", q850: "1", sip: "404"}},
		{"no-route", Scenario{Outcome: NoRoute}, "", "", want{body: "-ERR NO_ROUTE_DESTINATION", q850: "3", sip: "404"}},
		{"no-answer", Scenario{Outcome: NoAnswer, RingTime: 8 * time.Second}, "", "", want{body: "-ERR NO_ANSWER", q850: "19", progress: true}},
		{"farend-hangup-page-2", Scenario{T38: true, HangupAtPage: 2}, "", "", want{body: "+OK", q850: "16", code: "49", pages: "1", t38: "negotiated", negotiates: 1}},
		{"no-fax", Scenario{Outcome: NoFax}, "", "", want{body: "+OK", q850: "16", code: "2", pages: "0", t38: "off"}},
		{"missing-document", Scenario{T38: true}, "", "/nonexistent.tif", want{body: "+OK", q850: "16", response: "Cannot send non-existant fax file"}},
		{"bad-rows", Scenario{T38: true, BadRows: 7}, "", "", want{body: "+OK", q850: "16", code: "0", pages: "2", t38: "negotiated", negotiates: 1, badRows: "7"}},
		{"renegotiate", Scenario{Renegotiate: true}, "", "", want{body: "+OK", q850: "16", code: "0", pages: "2", t38: "negotiated", negotiates: 2}},
		{"error-endpoint", Scenario{}, "error/USER_BUSY", "", want{body: "-ERR USER_BUSY", q850: "17"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(t, Options{})
			s.Route("5552000", tc.sc)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cl := dialClient(ctx, t, s)
			dial := tc.dial
			if dial == "" {
				dial = "sofia/gateway/gw1/5552000"
			}
			d := doc
			if tc.doc != "" {
				d = tc.doc
			}
			body, uuid := cl.originate(ctx, vars+dial+" &txfax("+d+")")
			if !strings.HasPrefix(body, tc.want.body) {
				t.Fatalf("BACKGROUND_JOB body %q, want %q", body, tc.want.body)
			}
			rec, err := s.WaitCall(ctx, func(r CallRecord) bool { return r.Ended })
			if err != nil {
				t.Fatal(err)
			}
			if uuid != "" && rec.UUID != uuid {
				t.Fatalf("record %s, channel %s", rec.UUID, uuid)
			}
			evs := cl.collect(ctx, rec.UUID, isDestroy)
			hc := findEvent(evs, "CHANNEL_HANGUP_COMPLETE", "")
			if hc == nil {
				t.Fatal("no CHANNEL_HANGUP_COMPLETE")
			}
			if got := hc.Var("hangup_cause_q850"); got != tc.want.q850 {
				t.Errorf("hangup_cause_q850 %s, want %s", got, tc.want.q850)
			}
			if tc.want.sip != "" && hc.Var("sip_term_status") != tc.want.sip {
				t.Errorf("sip_term_status %q, want %s", hc.Var("sip_term_status"), tc.want.sip)
			}
			if got := count(evs, "CHANNEL_PROGRESS", "") > 0; got != tc.want.progress {
				t.Errorf("CHANNEL_PROGRESS seen: %v, want %v", got, tc.want.progress)
			}
			if got := count(evs, "CUSTOM", "spandsp::txfaxnegociateresult"); got != tc.want.negotiates {
				t.Errorf("%d negotiate events, want %d", got, tc.want.negotiates)
			}
			res := findEvent(evs, "CUSTOM", "spandsp::txfaxresult")
			if tc.want.code == "" {
				if res != nil {
					t.Errorf("unexpected txfaxresult %s", res.Get("fax-result-code"))
				}
			} else {
				if res == nil {
					t.Fatal("no txfaxresult")
				}
				if res.Get("fax-result-code") != tc.want.code || res.Get("fax-document-transferred-pages") != tc.want.pages ||
					res.Get("fax-t38-status") != tc.want.t38 || res.Get("fax-result-text") != t30Text[atoi(tc.want.code)] {
					t.Errorf("txfaxresult code %s (%s) pages %s t38 %s", res.Get("fax-result-code"), res.Get("fax-result-text"),
						res.Get("fax-document-transferred-pages"), res.Get("fax-t38-status"))
				}
				if hc.Var("fax_result_code") != tc.want.code {
					t.Errorf("variable_fax_result_code %q on hangup, want %s", hc.Var("fax_result_code"), tc.want.code)
				}
				if tc.want.badRows != "" && res.Get("fax-bad-rows") != tc.want.badRows {
					t.Errorf("fax-bad-rows %q, want %s", res.Get("fax-bad-rows"), tc.want.badRows)
				}
			}
			if tc.want.response != "" {
				ec := findEvent(evs, "CHANNEL_EXECUTE_COMPLETE", "")
				if ec == nil || ec.Get("Application-Response") != tc.want.response || count(evs, "CUSTOM", "spandsp::txfaxresult") != 0 {
					t.Errorf("EXECUTE_COMPLETE %v, want response %q and no spandsp events", ec, tc.want.response)
				}
			}
		})
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestNeverHangup is the signalwire/freeswitch#143 pitfall: the result
// arrives but the call stays up until uuid_kill.
func TestNeverHangup(t *testing.T) {
	doc, _ := filepath.Abs("testdata/sent-2page-g3.tif")
	s := New(t, Options{})
	s.Route("5552000", Scenario{T38: true, NeverHangup: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := dialClient(ctx, t, s)
	_, uuid := cl.originate(ctx, "{fax_enable_t38=true,fax_enable_t38_request=true}sofia/gateway/gw1/5552000 &txfax("+doc+")")
	evs := cl.collect(ctx, uuid, func(e *esl.Event) bool { return e.Subclass() == "spandsp::txfaxresult" })
	if findEvent(evs, "CHANNEL_HANGUP", "") != nil {
		t.Fatal("hung up before the result")
	}
	if got, err := cl.c.API(ctx, "uuid_exists "+uuid); err != nil || got != "true" {
		t.Fatalf("uuid_exists after the result = %q, %v; want true", got, err)
	}
	if got, err := cl.c.API(ctx, "uuid_kill "+uuid); err != nil || got != "+OK\n" {
		t.Fatalf("uuid_kill = %q, %v", got, err)
	}
	evs = cl.collect(ctx, uuid, isDestroy)
	if h := findEvent(evs, "CHANNEL_HANGUP", ""); h == nil || h.Var("sip_hangup_disposition") != "send_bye" {
		t.Error("no CHANNEL_HANGUP with send_bye after uuid_kill")
	}
	if k := s.Kills(); len(k) != 1 || k[0] != uuid {
		t.Errorf("Kills() = %q", k)
	}
	if got, _ := cl.c.API(ctx, "uuid_kill "+uuid); got != "-ERR No such channel!\n" {
		t.Errorf("second uuid_kill = %q", got)
	}
}

// TestDropESL: the sender's event socket is dropped mid-call; the call
// still completes on the switch.
func TestDropESL(t *testing.T) {
	doc, _ := filepath.Abs("testdata/sent-2page-g3.tif")
	s := New(t, Options{})
	s.Route("5552000", Scenario{T38: true, DropESL: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := dialClient(ctx, t, s)
	_, uuid := cl.originate(ctx, "{fax_enable_t38=true}sofia/gateway/gw1/5552000 &txfax("+doc+")")
	select {
	case <-cl.c.Done():
	case <-ctx.Done():
		t.Fatal("connection not dropped")
	}
	rec, err := s.WaitCall(ctx, func(r CallRecord) bool { return r.UUID == uuid && r.Ended })
	if err != nil {
		t.Fatal(err)
	}
	if rec.Result == nil || !rec.Result.Success || rec.Result.Pages != 2 {
		t.Errorf("result after the drop: %+v", rec.Result)
	}
}

// TestFailover dials failover and simultaneous legs in turn.
func TestFailover(t *testing.T) {
	doc, _ := filepath.Abs("testdata/sent-2page-g3.tif")
	s := New(t, Options{})
	s.Route("111", Scenario{Outcome: Busy})
	s.Route("222", Scenario{T38: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := dialClient(ctx, t, s)
	body, uuid := cl.originate(ctx, "{fax_header='A, B'}[leg=1]sofia/gateway/gw1/111|sofia/gateway/gw2/222 &txfax("+doc+")")
	if !strings.HasPrefix(body, "+OK") {
		t.Fatalf("body %q", body)
	}
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	calls := s.Calls()
	if len(calls) != 2 || calls[0].HangupCause != "USER_BUSY" || calls[1].UUID != uuid || calls[1].Gateway != "gw2" {
		t.Fatalf("calls %+v", calls)
	}
	if calls[0].Vars["leg"] != "1" || calls[0].Vars["fax_header"] != "A, B" || calls[1].Vars["leg"] != "" {
		t.Errorf("leg variables: %q %q %q", calls[0].Vars["leg"], calls[0].Vars["fax_header"], calls[1].Vars["leg"])
	}
}

// TestOriginationUUID: origination_uuid names the channel.
func TestOriginationUUID(t *testing.T) {
	doc, _ := filepath.Abs("testdata/sent-2page-g3.tif")
	s := New(t, Options{})
	s.Route("5552000", Scenario{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := dialClient(ctx, t, s)
	want := esl.NewUUID()
	body, uuid := cl.originate(ctx, "{origination_uuid="+want+"}sofia/gateway/gw1/5552000 &txfax("+doc+")")
	if uuid != want {
		t.Fatalf("body %q, want +OK %s", body, want)
	}
	if r, err := s.WaitCall(ctx, func(r CallRecord) bool { return r.UUID == want && r.Ended }); err != nil || r.Vars["uuid"] != want {
		t.Errorf("record %+v, %v", r.Vars["uuid"], err)
	}
}

// TestMalformedDialString: a broken variable block fails the originate
// and is recorded.
func TestMalformedDialString(t *testing.T) {
	s := New(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := dialClient(ctx, t, s)
	body, _ := cl.originate(ctx, "{fax_header=it's}sofia/gateway/gw1/5552000 &txfax(/x.tif)")
	if body != "-ERR INVALID_NUMBER_FORMAT\n" {
		t.Errorf("body %q", body)
	}
	if c := s.Calls(); len(c) != 1 || c[0].Error == "" {
		t.Errorf("calls %+v", c)
	}
}

// TestPlaceCallScenarios runs inbound calls onto a gofaxd-like listener.
func TestPlaceCallScenarios(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sc        Scenario
		code      int
		pages     int
		fileExist bool
	}{
		{"success-3-pages", Scenario{T38: true, Pages: 3}, 0, 3, true},
		{"farend-hangup-page-2", Scenario{HangupAtPage: 2}, 49, 1, true},
		{"never-hangup", Scenario{NeverHangup: true}, 0, 2, true},
		{"drop-esl", Scenario{DropESL: true}, 49, 1, true},
		// The socket dies (gofaxd killed): FreeSWITCH finishes the fax.
		{"drop-esl-outlive", Scenario{DropESL: true, OutliveSocket: true}, 0, 2, true},
		{"no-fax", Scenario{Outcome: NoFax}, 2, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := &receiver{dir: t.TempDir(), t38: true}
			s := New(t, Options{SocketAddr: startReceiver(t, rc)})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			rec, err := s.PlaceCall(ctx, InboundCall{CallerNumber: "5551000", CallerName: "ACME", Destination: "5552000",
				ToUser: "5552001", Diversion: "<sip:5552999@10.0.0.1>;reason=unconditional", Gateway: "carrier1", Scenario: tc.sc})
			if err != nil {
				t.Fatal(err)
			}
			if rec.Result == nil || rec.Result.Code != tc.code || rec.Result.Pages != tc.pages {
				t.Fatalf("result %+v, want code %d with %d pages", rec.Result, tc.code, tc.pages)
			}
			if rec.Vars["sip_to_user"] != "5552001" || rec.Vars["sip_h_Diversion"] == "" || rec.Vars["sip_gateway"] != "carrier1" {
				t.Errorf("variables: to %q diversion %q gateway %q", rec.Vars["sip_to_user"], rec.Vars["sip_h_Diversion"], rec.Vars["sip_gateway"])
			}
			n, err := CountPages(rec.File)
			if tc.fileExist && (err != nil || n != tc.pages) {
				t.Errorf("file has %d pages (%v), want %d", n, err, tc.pages)
			}
			if !tc.fileExist && err == nil {
				t.Errorf("file written with %d pages", n)
			}
			if tc.sc.DropESL {
				// The socket goes first; FreeSWITCH then hangs the
				// channel up, where the listener cannot see it.
				rc.wait(t)
				rc.mu.Lock()
				evs := rc.events[rec.UUID]
				rc.mu.Unlock()
				if rec.HangupCause != "NORMAL_CLEARING" || slices.ContainsFunc(evs, func(e string) bool { return strings.HasPrefix(e, "CHANNEL_HANGUP") }) {
					t.Errorf("dropped socket: hangup cause %q, listener saw %q; want NORMAL_CLEARING after the socket ended", rec.HangupCause, evs)
				}
			}
		})
	}
}

// TestCloseLeavesNoGoroutines: Close stops every goroutine of the
// simulator, even with calls up.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	doc, _ := filepath.Abs("testdata/sent-2page-g3.tif")
	rc := &receiver{dir: t.TempDir(), t38: true}
	addr := startReceiver(t, rc)
	s, err := Start(Options{SocketAddr: addr})
	if err != nil {
		t.Fatal(err)
	}
	s.Route("5552000", Scenario{NeverHangup: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := esl.Dial(ctx, s.Addr(), s.Password())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// One call stuck up (NeverHangup) and one loopback call in progress.
	if _, err := c.API(ctx, "originate sofia/gateway/gw1/5552000 &txfax("+doc+")"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BgAPI(ctx, "originate sofia/gateway/gw1/5553000 &txfax("+doc+")"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Close waited for its goroutines: none of the simulator's may remain
	// once those past their last statement (wg.Done) have exited.
	var left []string
	for range 100 {
		left = simGoroutines()
		if len(left) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, g := range left {
		t.Errorf("goroutine left after Close:\n%s", g)
	}
}

// simGoroutines returns the stacks of the simulator's goroutines.
func simGoroutines() []string {
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	var out []string
	for _, g := range strings.Split(stacks, "\n\n") {
		for _, owner := range []string{"esltest.(*Sim)", "esltest.(*conn)", "esltest.(*executor)"} {
			if strings.Contains(g, owner) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// TestJSONEvents: a json subscriber gets the same call in text/event-json.
func TestJSONEvents(t *testing.T) {
	doc, _ := filepath.Abs("testdata/sent-2page-g3.tif")
	s := New(t, Options{})
	s.Route("5552000", Scenario{T38: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := esl.Dial(ctx, s.Addr(), s.Password())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(ctx, "json", "CHANNEL_HANGUP_COMPLETE", "BACKGROUND_JOB", "CUSTOM", "spandsp::txfaxresult"); err != nil {
		t.Fatal(err)
	}
	cl := &client{t: t, c: c}
	_, uuid := cl.originate(ctx, "{fax_enable_t38=true}sofia/gateway/gw1/5552000 &txfax("+doc+")")
	evs := cl.collect(ctx, uuid, func(e *esl.Event) bool { return e.Name() == "CHANNEL_HANGUP_COMPLETE" })
	res := findEvent(evs, "CUSTOM", "spandsp::txfaxresult")
	if res == nil || res.Format != esl.FormatJSON || res.Get("fax-result-code") != "0" {
		t.Fatalf("txfaxresult %+v", res)
	}
	if hc := evs[len(evs)-1]; hc.Var("fax_success") != "1" {
		t.Errorf("hangup complete: fax_success %q", hc.Var("fax_success"))
	}
}
