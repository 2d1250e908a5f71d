package esltest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/faxdoc"
)

// receiver is a gofaxd-like socket listener: answer, rxfax, hang up.
type receiver struct {
	dir     string
	t38     bool
	respond string // if set, "respond <code>" instead of answering
	// prepare, if set, runs on the file before rxfax, as gofaxd creates
	// and locks it; rxfax does not run when it fails.
	prepare func(path string) error

	mu     sync.Mutex
	events map[string][]string // per channel: event names seen on the socket
	files  []string
	wg     sync.WaitGroup // running handlers
}

// wait waits for the handlers to finish.
func (rc *receiver) wait(t testing.TB) {
	t.Helper()
	done := make(chan struct{})
	go func() { rc.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("socket handlers did not finish")
	}
}

func (rc *receiver) handle(ctx context.Context, c *esl.OutboundConn) {
	rc.wg.Add(1)
	defer rc.wg.Done()
	uuid := c.UUID()
	rec := func(e *esl.Event) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		d := e.Name()
		if sub := e.Subclass(); sub != "" {
			d += " " + sub
		}
		if app := e.Get("Application"); app != "" {
			d += " " + app
		}
		rc.events[uuid] = append(rc.events[uuid], d)
	}
	if err := c.Linger(ctx); err != nil {
		return
	}
	if err := c.Filter(ctx, "Unique-ID", uuid); err != nil {
		return
	}
	if err := c.Subscribe(ctx, "plain", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE",
		"CUSTOM", "spandsp::rxfaxnegociateresult", "spandsp::rxfaxpageresult", "spandsp::rxfaxresult"); err != nil {
		return
	}
	file := filepath.Join(rc.dir, uuid+".tif")
	rc.mu.Lock()
	rc.files = append(rc.files, file)
	rc.mu.Unlock()
	if rc.respond != "" {
		_ = c.Execute(ctx, "respond", rc.respond)
	} else {
		_ = c.Execute(ctx, "set", "fax_ident=3333")
		if rc.t38 {
			_ = c.Execute(ctx, "set", "fax_enable_t38=true")
		}
		_ = c.Execute(ctx, "answer", "")
		if rc.prepare == nil || rc.prepare(file) == nil {
			_ = c.Execute(ctx, "rxfax", file)
		}
	}
	for {
		select {
		case e, ok := <-c.Events():
			if !ok {
				return
			}
			rec(e)
			if e.Name() == "CHANNEL_EXECUTE_COMPLETE" && e.Get("Application") == "rxfax" {
				_ = c.Hangup(ctx, "NORMAL_CLEARING")
			}
			if e.Name() == "CHANNEL_HANGUP_COMPLETE" {
				_ = c.Exit(ctx)
				return
			}
		case <-c.Done():
			return
		case <-ctx.Done():
			return
		}
	}
}

func startReceiver(t testing.TB, rc *receiver) string {
	t.Helper()
	rc.events = map[string][]string{}
	srv := &esl.Server{Addr: "127.0.0.1:0", Handler: rc.handle}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-done; err != nil && !errors.Is(err, esl.ErrServerClosed) {
			t.Error(err)
		}
	})
	return srv.Address().String()
}

// sender is a gofaxsend-like inbound client: originate with txfax and
// collect the leg's events until CHANNEL_DESTROY.
func send(ctx context.Context, t *testing.T, s *Sim, vars, dial, doc string) (body string, events []*esl.Event) {
	t.Helper()
	c, err := esl.Dial(ctx, s.Addr(), s.Password())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(ctx, "plain", "ALL"); err != nil {
		t.Fatal(err)
	}
	job, err := c.BgAPI(ctx, "originate {"+vars+"}"+dial+" &txfax("+doc+")")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := job.Wait(ctx)
	if ev == nil {
		t.Fatal(err)
	}
	body = string(ev.Body)
	uuid := strings.TrimSpace(strings.TrimPrefix(body, "+OK "))
	for {
		select {
		case e, ok := <-c.Events():
			if !ok {
				t.Fatalf("connection ended: %v", c.Err())
			}
			if e.UUID() != uuid && !strings.HasPrefix(body, "-ERR") {
				continue
			}
			events = append(events, e)
			if e.Name() == "CHANNEL_DESTROY" {
				return body, events
			}
		case <-ctx.Done():
			t.Fatalf("no CHANNEL_DESTROY: %v", ctx.Err())
		}
	}
}

func findEvent(evs []*esl.Event, name, subclass string) *esl.Event {
	for _, e := range evs {
		if e.Name() == name && e.Subclass() == subclass {
			return e
		}
	}
	return nil
}

func TestLoopbackEndToEnd(t *testing.T) {
	doc, _ := filepath.Abs("testdata/sent-2page-g3.tif")
	for _, tc := range []struct {
		name       string
		rxT38      bool
		txVars     string
		wantStatus string
	}{
		{"t38", true, "fax_enable_t38=true,fax_enable_t38_request=true", "negotiated"},
		{"g711-receiver-refuses-t38", false, "fax_enable_t38=true,fax_enable_t38_request=true", "off"},
		{"g711", true, "fax_enable_t38=false", "off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := &receiver{dir: t.TempDir(), t38: tc.rxT38}
			s := New(t, Options{SocketAddr: startReceiver(t, rc), TimeScale: 0.02})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			body, evs := send(ctx, t, s, "fax_ident=1111,fax_header='ACME, Inc.',origination_caller_id_number=5551000,"+tc.txVars,
				"sofia/gateway/gw1/5552000", doc)
			if !strings.HasPrefix(body, "+OK ") {
				t.Fatalf("BACKGROUND_JOB body %q", body)
			}
			res := findEvent(evs, "CUSTOM", "spandsp::txfaxresult")
			if res == nil {
				t.Fatal("no txfaxresult")
			}
			if res.Get("fax-success") != "1" || res.Get("fax-document-transferred-pages") != "2" ||
				res.Get("fax-t38-status") != tc.wantStatus || res.Get("fax-remote-station-id") != "3333" {
				t.Errorf("txfaxresult: success %s pages %s t38 %s remote %q", res.Get("fax-success"),
					res.Get("fax-document-transferred-pages"), res.Get("fax-t38-status"), res.Get("fax-remote-station-id"))
			}
			if hc := findEvent(evs, "CHANNEL_HANGUP_COMPLETE", ""); hc == nil || hc.Var("fax_success") != "1" || hc.Var("fax_header") != "ACME, Inc." {
				t.Error("CHANNEL_HANGUP_COMPLETE lacks fax_success=1 or the quoted fax_header")
			}
			if err := s.WaitIdle(ctx); err != nil {
				t.Fatal(err)
			}
			rc.mu.Lock()
			files := rc.files
			rc.mu.Unlock()
			if len(files) != 1 {
				t.Fatalf("receiver saw %d calls", len(files))
			}
			if n, err := CountPages(files[0]); err != nil || n != 2 {
				t.Errorf("received %d pages (%v), want 2", n, err)
			}
			calls := s.Calls()
			if len(calls) != 2 || calls[0].PeerUUID != calls[1].UUID {
				t.Fatalf("calls = %+v", calls)
			}
			b := calls[1]
			if b.Result == nil || !b.Result.Success || b.Result.Pages != 2 || b.Vars["sip_to_user"] != "5552000" ||
				b.Vars["fax_ident"] != "3333" || calls[0].Gateway != "gw1" {
				t.Errorf("receiving leg record: %+v", b)
			}
		})
	}
}

// faxinfoPath is HylaFAX's faxinfo, which trusts a received file's
// FaxDcs for quality and data format.
const faxinfoPath = "/usr/lib/hylafax/bin/faxinfo"

// TestLoopbackNormalResolution: a 98 lpi MH document, as sendfax
// prepares one at normal resolution, arrives described as what it is:
// the received file's FaxDcs, the events of both legs and faxinfo say
// normal resolution, T.4 1-D, and the page is A4's 297 mm long.
func TestLoopbackNormalResolution(t *testing.T) {
	doc, _ := filepath.Abs("testdata/sent-1page-normal-mh.tif")
	for _, tc := range []struct {
		name   string
		txVars string
		rate   string
		dcs    string // T.30 bits 10, 14 (14400) or 11 (9600), 20, 21-23, 27 (ECM); no 15 (fine), 16 (MR)
	}{
		{"v17", "fax_enable_t38=true,fax_enable_t38_request=true", "14400", "00 44 1F 20"},
		{"v17 disabled", "fax_enable_t38=true,fax_enable_t38_request=true,fax_disable_v17=true", "9600", "00 60 1F 20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := &receiver{dir: t.TempDir(), t38: true}
			s := New(t, Options{SocketAddr: startReceiver(t, rc), TimeScale: 0.02})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			body, evs := send(ctx, t, s, "fax_ident=1111,"+tc.txVars, "sofia/gateway/gw1/5552000", doc)
			if !strings.HasPrefix(body, "+OK ") {
				t.Fatalf("BACKGROUND_JOB body %q", body)
			}
			page := findEvent(evs, "CUSTOM", "spandsp::txfaxpageresult")
			res := findEvent(evs, "CUSTOM", "spandsp::txfaxresult")
			if page == nil || res == nil || res.Get("fax-success") != "1" {
				t.Fatal("no txfaxpageresult or no successful txfaxresult")
			}
			for name, want := range map[string]string{"fax-image-resolution": "8040x3850",
				"fax-file-image-resolution": "8031x3858", "fax-image-pixel-size": "1728x1146",
				"fax-encoding": "2", "fax-encoding-name": "T.4 1-D"} {
				if got := page.Get(name); got != want {
					t.Errorf("txfaxpageresult %s = %q, want %q", name, got, want)
				}
			}
			if got := res.Get("fax-image-resolution"); got != "8040x3850" {
				t.Errorf("txfaxresult fax-image-resolution = %q, want 8040x3850", got)
			}
			if got := res.Get("fax-transfer-rate"); got != tc.rate {
				t.Errorf("txfaxresult fax-transfer-rate = %q, want %s", got, tc.rate)
			}
			if err := s.WaitIdle(ctx); err != nil {
				t.Fatal(err)
			}
			calls := s.Calls()
			if len(calls) != 2 {
				t.Fatalf("calls = %+v", calls)
			}
			for name, want := range map[string]string{"fax_image_resolution": "8040x3850",
				"fax_file_image_resolution": "8040x3850", "fax_encoding_name": "T.4 1-D", "fax_transfer_rate": tc.rate} {
				if got := calls[1].Vars[name]; got != want {
					t.Errorf("receiving leg %s = %q, want %q", name, got, want)
				}
			}
			rc.mu.Lock()
			files := rc.files
			rc.mu.Unlock()
			if len(files) != 1 {
				t.Fatalf("receiver saw %d calls", len(files))
			}
			data, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			pages, err := faxdoc.ReadPages(bytes.NewReader(data), int64(len(data)))
			if err != nil || len(pages) != 1 {
				t.Fatalf("received %d pages (%v), want 1", len(pages), err)
			}
			if pages[0].FaxDcs != tc.dcs || pages[0].YDPI() != 98 || pages[0].Compression != 3 {
				t.Errorf("received page: FaxDcs %q, %v lpi, compression %d; want %q, 98 lpi, 3",
					pages[0].FaxDcs, pages[0].YDPI(), pages[0].Compression, tc.dcs)
			}
			checkFaxinfo(t, files[0], "Quality: Normal", "DataFormat: 1-D MH")
		})
	}
}

// checkFaxinfo runs HylaFAX's faxinfo on file and checks its output has
// every line of want and a page about 297 mm long.
func checkFaxinfo(t *testing.T, file string, want ...string) {
	t.Helper()
	if _, err := os.Stat(faxinfoPath); err != nil {
		t.Skipf("faxinfo check skipped: %s not installed (make test installs HylaFAX)", faxinfoPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, faxinfoPath, file).CombinedOutput()
	if err != nil {
		t.Fatalf("faxinfo: %v\n%s", err, out)
	}
	info := string(out)
	for _, w := range want {
		if !strings.Contains(info, w) {
			t.Errorf("faxinfo lacks %q:\n%s", w, info)
		}
	}
	// faxinfo names a page size it knows ("default" is A4 here), or
	// prints "<width> by <length in mm>".
	m := regexp.MustCompile(`(?m)^\s*Page: (.*)$`).FindStringSubmatch(info)
	if m == nil {
		t.Fatalf("faxinfo shows no page size:\n%s", info)
	}
	if _, mm, ok := strings.Cut(m[1], " by "); ok {
		if n, err := strconv.Atoi(mm); err != nil || n < 290 || n > 304 {
			t.Errorf("faxinfo page %q, want about 297 mm long", m[1])
		}
	}
}

// TestLoopbackConnectOnly: a listener that only connects and exits
// releases the call; the sender sees what outbound-socket-connect-only_A
// shows.
func TestLoopbackConnectOnly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		rd := esl.NewReader(nc)
		io.WriteString(nc, "connect\n\n")
		if _, err := rd.ReadMessage(); err != nil {
			return
		}
		io.WriteString(nc, "exit\n\n")
		for {
			if _, err := rd.ReadMessage(); err != nil {
				return
			}
		}
	}()
	s := New(t, Options{SocketAddr: ln.Addr().String()})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := dialClient(ctx, t, s)
	body, _ := cl.originate(ctx, "{fax_ident=1111}sofia/external/5551236@127.0.0.1:5090 &txfax(/srv/faxspool/testdata/test.tif)")
	if body != "-ERR NORMAL_CLEARING\n" {
		t.Fatalf("body %q", body)
	}
	a, err := s.WaitCall(ctx, func(r CallRecord) bool { return r.Outbound && r.Ended })
	if err != nil {
		t.Fatal(err)
	}
	if a.Vars["sip_term_status"] != "480" || a.Vars["sip_hangup_disposition"] != "recv_refuse" {
		t.Errorf("sip_term_status %q, disposition %q; the capture has 480, recv_refuse",
			a.Vars["sip_term_status"], a.Vars["sip_hangup_disposition"])
	}
	var got []string
	for _, e := range cl.collect(ctx, "", func(e *esl.Event) bool { return isDestroy(e) && e.UUID() == a.UUID }) {
		if e.UUID() != a.UUID && e.Name() != "BACKGROUND_JOB" {
			continue
		}
		if d := describeEvent(e); d != "" {
			got = append(got, d)
		}
	}
	// The esl client hands BACKGROUND_JOB to the job (checked above), and
	// the capture ends with the client's exit.
	want, _ := captureSequence(t, "outbound-socket-connect-only_A_plain")
	want = slices.DeleteFunc(want, func(d string) bool {
		return strings.HasPrefix(d, "BACKGROUND_JOB") || strings.HasPrefix(d, "notice")
	})
	compareSequence(t, got, want)
}

// TestLoopbackSenderKilled: the sender is killed after page 1; the
// receiving socket sees the order SCENARIOS.md describes and keeps one page.
func TestLoopbackSenderKilled(t *testing.T) {
	doc, _ := filepath.Abs("testdata/sent-2page-g3.tif")
	rc := &receiver{dir: t.TempDir(), t38: true}
	s := New(t, Options{SocketAddr: startReceiver(t, rc), TimeScale: 0.05})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := dialClient(ctx, t, s)
	_, uuid := cl.originate(ctx, "{fax_enable_t38=true,fax_enable_t38_request=true}sofia/gateway/gw1/5552000 &txfax("+doc+")")
	cl.collect(ctx, uuid, func(e *esl.Event) bool { return e.Subclass() == "spandsp::txfaxpageresult" })
	if got, err := cl.c.API(ctx, "uuid_kill "+uuid); err != nil || got != "+OK\n" {
		t.Fatalf("uuid_kill: %q %v", got, err)
	}
	evs := cl.collect(ctx, uuid, isDestroy)
	if res := findEvent(evs, "CUSTOM", "spandsp::txfaxresult"); res == nil || res.Get("fax-result-code") != "49" ||
		res.Get("fax-document-transferred-pages") != "1" {
		t.Errorf("sender's result %v", res)
	}
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	rc.wait(t)
	calls := s.Calls()
	b := calls[1]
	rc.mu.Lock()
	got := slices.Clone(rc.events[b.UUID])
	rc.mu.Unlock()
	want := []string{"CHANNEL_EXECUTE_COMPLETE set", "CHANNEL_EXECUTE_COMPLETE set", "CHANNEL_EXECUTE_COMPLETE answer",
		"CUSTOM spandsp::rxfaxnegociateresult", "CUSTOM spandsp::rxfaxpageresult", "CHANNEL_HANGUP",
		"CUSTOM spandsp::rxfaxresult", "CHANNEL_EXECUTE_COMPLETE rxfax", "CHANNEL_EXECUTE_COMPLETE socket",
		"CHANNEL_HANGUP_COMPLETE"}
	compareSequence(t, got, want)
	if b.Result == nil || b.Result.Code != 49 || b.Result.Pages != 1 {
		t.Errorf("receiver's result %+v", b.Result)
	}
	if n, err := CountPages(b.File); err != nil || n != 1 {
		t.Errorf("received file: %d pages, %v", n, err)
	}
	if h := b.Vars["sip_hangup_disposition"]; h != "recv_bye" {
		t.Errorf("receiver's disposition %q, want recv_bye", h)
	}
}

// TestLoopbackSyncMode: with "socket <addr> full" the receiver's BYE waits
// for its exit, so the sender reports phase E before CHANNEL_HANGUP, as in
// sync-mode-t38_A; the receiving socket replays sync-mode-t38_B-socket.
func TestLoopbackSyncMode(t *testing.T) {
	doc, _ := filepath.Abs("testdata/sent-2page-g3.tif")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := New(t, Options{SocketAddr: ln.Addr().String(), SyncSocket: true, TimeScale: 0.05})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := dialClient(ctx, t, s)
	job, err := cl.c.BgAPI(ctx, "originate {fax_ident=1111,fax_enable_t38=true,fax_enable_t38_request=true,origination_caller_id_number=1111}sofia/external/5551241@127.0.0.1:5090 &txfax("+doc+")")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	dir := t.TempDir()
	uuid := ""
	var early []*esl.Event // the sender's events before the receiver's exit
	b := replay(t, nc, "sync-mode-t38_B-socket_plain", func(cmd string, f *frameReader) string {
		if strings.HasPrefix(cmd, "exit") {
			// The real client exited 10 s after its hangup, long after the
			// sender's phase E.
			early = cl.collect(ctx, "", func(e *esl.Event) bool { return e.Subclass() == "spandsp::txfaxresult" })
		}
		if uuid == "" && f.last != nil {
			uuid = esl.DecodeHeaders(f.last.Headers).Get("Unique-ID")
		}
		if strings.HasPrefix(cmd, "filter Unique-ID ") {
			return "filter Unique-ID " + uuid + "\n\n"
		}
		if i := strings.Index(cmd, "/srv/faxspool/"); i >= 0 {
			end := strings.Index(cmd[i:], "\n")
			return cmd[:i] + filepath.Join(dir, "rx.tif") + cmd[i+end:]
		}
		return cmd
	})
	want, _ := captureSequence(t, "sync-mode-t38_B-socket_plain")
	compareSequence(t, b.seq, want)
	ev, err := job.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := strings.TrimSpace(strings.TrimPrefix(string(ev.Body), "+OK "))
	var got []string
	for _, e := range append(early, cl.collect(ctx, a, isDestroy)...) {
		if e.UUID() != a {
			continue
		}
		if d := describeEvent(e); d != "" {
			got = append(got, d)
		}
	}
	want, _ = captureSequence(t, "sync-mode-t38_A_plain")
	want = slices.DeleteFunc(want, func(d string) bool {
		return strings.HasPrefix(d, "BACKGROUND_JOB") || strings.HasPrefix(d, "notice")
	})
	compareSequence(t, got, want)
}
