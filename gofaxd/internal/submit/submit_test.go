package submit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hfaxd"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hylafaxtest"
)

func TestKillAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		job  gofaxlib.SubmitJob
		want time.Duration
	}{
		{"default", gofaxlib.SubmitJob{}, DefaultKillAfter},
		{"from now", gofaxlib.SubmitJob{Expires: now.Add(5 * time.Hour)}, 5 * time.Hour},
		{"from send_at", gofaxlib.SubmitJob{SendAt: now.Add(time.Hour), Expires: now.Add(3 * time.Hour)}, 2 * time.Hour},
		{"past", gofaxlib.SubmitJob{Expires: now.Add(-time.Hour)}, time.Minute},
	} {
		if got := killAfter(c.job, now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestMapErr(t *testing.T) {
	for _, c := range []struct {
		err         error
		unavailable bool
	}{
		{hfaxd.ErrUnavailable, true},
		{hfaxd.ErrOutcomeUnknown, true},
		{&hfaxd.ReplyError{Command: "JSUBM", Code: 421, Text: "Service not available"}, true},
		{&hfaxd.ReplyError{Command: "JPARM OWNER", Code: 503, Text: "Permission denied"}, false},
		{hfaxd.ErrLogin, false},
	} {
		if got := errors.Is(mapErr(c.err), gofaxlib.ErrUnavailable); got != c.unavailable {
			t.Errorf("%v: unavailable %v", c.err, got)
		}
	}
}

var admin = hylafaxtest.User{Name: "gofax", Password: "Pw-1", AdminPassword: "Admin-1"}

// TestWithHfaxd submits through a real hfaxd as its administrator: the
// job is the tenant user's (OWNER), carries the fax id (USRKEY), the
// sender (FAXNUMBER), the send options; Lookup finds it by the fax id;
// Kill removes it and a second Kill says it is gone; a job on another
// host is not killed here; an account without administrator rights
// cannot submit; hfaxd unreachable is ErrUnavailable.
func TestWithHfaxd(t *testing.T) {
	hylafaxtest.Require(t)
	srv := hylafaxtest.Start(t, hylafaxtest.Options{Users: []hylafaxtest.User{admin}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := New(Config{Hfaxd: hfaxd.Config{Addr: srv.Host, User: admin.Name, Password: admin.Password,
		AdminPassword: admin.AdminPassword}, Host: "fax1"})
	defer s.Close()
	doc := filepath.Join(t.TempDir(), "page.tif")
	b, err := os.ReadFile(srv.Document())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(doc, b, 0o644); err != nil {
		t.Fatal(err)
	}
	const faxID = "6f1c2a3b-4d5e-4f60-8a7b-1c2d3e4f5a6b"
	sendAt := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Minute)
	host, id, err := s.Submit(ctx, gofaxlib.SubmitJob{FaxID: faxID, Owner: "alice", From: "+4930111111", To: "+4940222222",
		Header: "ACME", NotifyAddr: "alice@example.com", SendAt: sendAt, Expires: sendAt.Add(5 * time.Hour), MaxTries: 5,
		Documents: []gofaxlib.SubmitDocument{{Path: doc, Format: gofaxlib.FormatTIFF, Pages: 1}}})
	if err != nil || host != "fax1" || id == 0 {
		t.Fatalf("Submit: %s %d %v", host, id, err)
	}
	j, err := srv.Job(strconv.Itoa(id))
	if err != nil {
		t.Fatal(err)
	}
	for tag, want := range map[string]string{"owner": "alice", "jobtag": faxID, "faxnumber": "+4930111111",
		"number": "+4940222222", "external": "+4940222222", "mailaddr": "alice@example.com", "maxtries": "5",
		"tagline": "ACME", "tts": strconv.FormatInt(sendAt.Unix(), 10),
		"killtime": strconv.FormatInt(sendAt.Add(5*time.Hour).Unix(), 10)} {
		if got := j.Field(tag); got != want {
			t.Errorf("qfile %s: %q, want %q", tag, got, want)
		}
	}
	if h, n, err := s.Lookup(ctx, faxID); err != nil || h != "fax1" || n != id {
		t.Errorf("Lookup: %s %d %v", h, n, err)
	}
	if _, _, err := s.Lookup(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, gofaxlib.ErrNotFound) {
		t.Errorf("Lookup of no job: %v", err)
	}
	if err := s.Kill(ctx, "fax2", id); !errors.Is(err, gofaxlib.ErrConflict) {
		t.Errorf("Kill on another host: %v", err)
	}
	if err := s.Kill(ctx, "fax1", id); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if _, err := srv.WaitState(ctx, strconv.Itoa(id), hylafaxtest.StateFailed, hylafaxtest.StateDone); err != nil {
		t.Fatal(err)
	}
	if err := s.Kill(ctx, "fax1", id); !errors.Is(err, gofaxlib.ErrNotFound) {
		t.Errorf("Kill of a killed job: %v", err)
	}

	plain := New(Config{Hfaxd: hfaxd.Config{Addr: srv.Host, User: admin.Name, Password: admin.Password}, Host: "fax1"})
	defer plain.Close()
	if _, _, err := plain.Submit(ctx, gofaxlib.SubmitJob{FaxID: faxID, Owner: "alice", To: "+4940222222",
		Documents: []gofaxlib.SubmitDocument{{Path: doc}}}); err == nil || errors.Is(err, gofaxlib.ErrUnavailable) {
		t.Errorf("Submit without administrator rights: %v", err)
	}
	down := New(Config{Hfaxd: hfaxd.Config{Addr: "127.0.0.1:1", User: "x"}, Host: "fax1"})
	defer down.Close()
	if _, _, err := down.Submit(ctx, gofaxlib.SubmitJob{FaxID: faxID, To: "+4940222222",
		Documents: []gofaxlib.SubmitDocument{{Path: doc}}}); !errors.Is(err, gofaxlib.ErrUnavailable) {
		t.Errorf("hfaxd down: %v", err)
	}
}

// TestFreshSpoolConcurrent: the first faxes of a fresh spool, submitted
// at once, all get a job (hfaxd's race for its sequence number files is
// tried again).
func TestFreshSpoolConcurrent(t *testing.T) {
	hylafaxtest.Require(t)
	srv := hylafaxtest.Start(t, hylafaxtest.Options{Users: []hylafaxtest.User{admin}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := New(Config{Hfaxd: hfaxd.Config{Addr: srv.Host, User: admin.Name, Password: admin.Password,
		AdminPassword: admin.AdminPassword}, Host: "fax1"})
	defer s.Close()
	doc := srv.Document()
	const n = DefaultPoolSize
	ids := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, ids[i], errs[i] = s.Submit(ctx, gofaxlib.SubmitJob{FaxID: fmt.Sprintf("6f1c2a3b-4d5e-4f60-8a7b-1c2d3e4f5a%02d", i),
				Owner: "alice", To: "+4940222222", Documents: []gofaxlib.SubmitDocument{{Path: doc}}})
		})
	}
	wg.Wait()
	seen := map[int]bool{}
	for i := range n {
		if errs[i] != nil || ids[i] == 0 || seen[ids[i]] {
			t.Errorf("submission %d: job %d, %v", i, ids[i], errs[i])
		}
		seen[ids[i]] = true
	}
}

// lossyProxy relays hfaxd sessions but loses the reply to the first
// JSUBM: it passes JSUBM on, waits until hfaxd answered, then ends the
// session without passing the answer on, and from then on ends every new
// session at once (hfaxd unreachable for the look-up after it).
type lossyProxy struct {
	ln     net.Listener
	target string
	down   atomic.Bool
	wg     sync.WaitGroup
}

func startLossyProxy(t *testing.T, target string) *lossyProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &lossyProxy{ln: ln, target: target}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if p.down.Load() {
				c.Close()
				continue
			}
			p.wg.Go(func() { p.relay(c) })
		}
	})
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *lossyProxy) relay(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	var dropping atomic.Bool
	answered := make(chan struct{})
	p.wg.Go(func() {
		// hfaxd → client, until the answer to JSUBM.
		defer c.Close()
		buf := make([]byte, 4096)
		for {
			n, err := s.Read(buf)
			if n > 0 && dropping.Load() {
				close(answered)
				return
			}
			if n > 0 {
				c.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	})
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if strings.HasPrefix(line, "JSUBM") {
			dropping.Store(true)
			s.Write([]byte(line))
			select {
			case <-answered:
			case <-time.After(time.Minute):
			}
			p.down.Store(true)
			return
		}
		s.Write([]byte(line))
	}
}

// TestLostJSUBMReply: the reply to JSUBM is lost and hfaxd cannot be
// asked afterwards. The job was queued, so the outcome is unknown
// (gofaxlib.ErrOutcomeUnknown: the caller keeps the fax), not "HylaFAX
// unavailable" (which lets the caller drop the fax and a retry make a
// second job); a later Lookup finds the job.
func TestLostJSUBMReply(t *testing.T) {
	hylafaxtest.Require(t)
	srv := hylafaxtest.Start(t, hylafaxtest.Options{Users: []hylafaxtest.User{admin}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	proxy := startLossyProxy(t, srv.Host)
	hc := hfaxd.Config{Addr: proxy.ln.Addr().String(), User: admin.Name, Password: admin.Password, AdminPassword: admin.AdminPassword}
	s := New(Config{Hfaxd: hc, Host: "fax1", OutcomeWait: 100 * time.Millisecond})
	defer s.Close()
	const faxID = "6f1c2a3b-4d5e-4f60-8a7b-1c2d3e4f5a77"
	_, _, err := s.Submit(ctx, gofaxlib.SubmitJob{FaxID: faxID, Owner: "alice", To: "+4940222222",
		Documents: []gofaxlib.SubmitDocument{{Path: srv.Document()}}})
	if !errors.Is(err, gofaxlib.ErrOutcomeUnknown) {
		t.Fatalf("Submit with the JSUBM reply lost and hfaxd gone: %v, want ErrOutcomeUnknown", err)
	}
	hc.Addr = srv.Host
	direct := New(Config{Hfaxd: hc, Host: "fax1"})
	defer direct.Close()
	host, id, err := direct.Lookup(ctx, faxID)
	if err != nil || host != "fax1" || id == 0 {
		t.Fatalf("Lookup after the lost reply: %s %d %v", host, id, err)
	}
	if _, err := srv.Job(strconv.Itoa(id)); err != nil {
		t.Errorf("the job: %v", err)
	}
}
