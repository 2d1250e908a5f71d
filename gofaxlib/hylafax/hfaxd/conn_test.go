package hfaxd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/internal/golden"
)

func fakeConfig(addr string) Config {
	return Config{Addr: addr, User: "u", Password: "p"}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestDial: login exchanges, with replies arriving whole and a byte at a
// time.
func TestDial(t *testing.T) {
	for _, tc := range []struct {
		name   string
		admin  bool
		script func(p *peer)
		want   error // nil: logged in
	}{
		{"login", false, func(p *peer) { p.login(false); p.quit() }, nil},
		{"admin", true, func(p *peer) { p.login(true); p.quit() }, nil},
		{"no password asked", false, func(p *peer) {
			p.send("220 ready.\r\n")
			p.reply(`USER "u"`, "230 User u logged in.\r\n")
			p.reply("TZONE GMT", "200 ok\r\n")
			p.reply("TYPE I", "200 ok\r\n")
			p.reply("SITE LOCKWAIT 5", "213 ok\r\n")
			p.quit()
		}, nil},
		{"multi-line greeting", false, func(p *peer) {
			p.send("220-shutdown at 10:00\r\n  really\r\n220 ready.\r\n")
			p.reply(`USER "u"`, "230 User u logged in.\r\n")
			p.reply("TZONE GMT", "200 ok\r\n")
			p.reply("TYPE I", "200 ok\r\n")
			p.reply("SITE LOCKWAIT 5", "213 ok\r\n")
			p.quit()
		}, nil},
		{"service not available", false, func(p *peer) {
			p.send("421 Service not available, closing control connection.\r\n")
		}, ErrUnavailable},
		{"wrong password", false, func(p *peer) {
			p.send("220 ready.\r\n")
			p.reply(`USER "u"`, "331 Password required for u.\r\n")
			p.reply(`PASS "p"`, "530 Login incorrect.\r\n")
		}, ErrLogin},
		{"user refused", false, func(p *peer) {
			p.send("220 ready.\r\n")
			p.reply(`USER "u"`, "530 User u access denied.\r\n")
		}, ErrLogin},
		{"admin refused", true, func(p *peer) {
			p.send("220 ready.\r\n")
			p.reply(`USER "u"`, "331 Password required for u.\r\n")
			p.reply(`PASS "p"`, "230 User u logged in.\r\n")
			p.reply(`ADMIN "a"`, "530 Password incorrect.\r\n")
		}, ErrLogin},
		{"garbage greeting", false, func(p *peer) { p.send("SSH-2.0-OpenSSH_9.2\r\n") }, ErrProtocol},
		{"closed at once", false, func(p *peer) {}, ErrOutcomeUnknown},
		{"oversized greeting", false, func(p *peer) {
			p.send("220 " + strings.Repeat("x", MaxLineLength) + "\r\n")
		}, ErrProtocol},
		{"endless greeting", false, func(p *peer) {
			p.send("220-hello\r\n")
			for range MaxReplyLines + 1 {
				p.send("line\r\n")
			}
		}, ErrProtocol},
	} {
		for _, chunk := range []int{0, 1, 7} {
			t.Run(tc.name+"/chunk"+string(rune('0'+chunk)), func(t *testing.T) {
				addr := fakeServer(t, chunk, tc.script)
				cfg := fakeConfig(addr)
				if tc.admin {
					cfg.AdminPassword = "a"
				}
				c, err := Dial(testCtx(t), cfg)
				if tc.want == nil {
					if err != nil {
						t.Fatal(err)
					}
					if c.Admin() != tc.admin {
						t.Errorf("Admin() = %v", c.Admin())
					}
					if err := c.Close(); err != nil {
						t.Error(err)
					}
					return
				}
				if !errors.Is(err, tc.want) {
					t.Errorf("Dial = %v, want %v", err, tc.want)
				}
				if c != nil {
					t.Error("Conn returned with an error")
				}
			})
		}
	}
}

// TestArguments: values that could break the protocol line or the qfile
// are refused before anything is written.
func TestArguments(t *testing.T) {
	var extra atomic.Int32
	addr := fakeServer(t, 0, func(p *peer) {
		p.login(false)
		for {
			l, ok := p.readLine()
			if !ok {
				return
			}
			if l == "QUIT" {
				p.send("221 Goodbye.\r\n")
				return
			}
			extra.Add(1)
			p.send("500 unexpected\r\n")
		}
	})
	c, err := Dial(testCtx(t), fakeConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	for _, v := range []string{"a\r\nJKILL 1", "a\nb", "a\rb", "nul\x00", "tab\t", "del\x7f", "c1\u0085",
		"bad utf-8 \xff", strings.Repeat("x", MaxCommandLine)} {
		if err := c.SetJobParams(ctx, Param{"TOUSER", v}); !errors.Is(err, ErrArgument) {
			t.Errorf("TOUSER %q: %v, want ErrArgument", v, err)
		}
	}
	for _, p := range []Param{{"touser", "x"}, {"TO USER", "x"}, {"", "x"}, {"X\r\nQUIT", "x"}} {
		if err := c.SetJobParams(ctx, p); !errors.Is(err, ErrArgument) {
			t.Errorf("param %q: %v, want ErrArgument", p.Name, err)
		}
	}
	for _, id := range []string{"", "default", "1 2", "1\r\nJKILL 2", "12345678901", "-1"} {
		if err := c.KillJob(ctx, id); !errors.Is(err, ErrArgument) {
			t.Errorf("KillJob(%q): %v, want ErrArgument", id, err)
		}
		if _, err := c.JobStatus(ctx, id); !errors.Is(err, ErrArgument) {
			t.Errorf("JobStatus(%q): %v, want ErrArgument", id, err)
		}
	}
	if _, err := c.JobsByUserKey(ctx, "k\r\n"); !errors.Is(err, ErrArgument) {
		t.Errorf("JobsByUserKey: %v, want ErrArgument", err)
	}
	for _, spec := range []JobSpec{
		{Documents: []string{"/tmp/doc1.ps"}},
		{Number: "1"},
		{Number: "1", Documents: []string{"/tmp/doc1.ps"}, KillAfter: 100 * 24 * time.Hour},
		{Number: "1", Documents: []string{"/tmp/doc1.ps"}, KillAfter: -time.Minute},
		{Number: "1", Documents: []string{"/tmp/doc1.ps"}, MaxTries: 70000},
		{Number: "1", Documents: []string{"/tmp/doc1.ps"}, Notify: "ALWAYS"},
		{Number: "1\n", Documents: []string{"/tmp/doc1.ps"}},
	} {
		if _, err := c.Submit(ctx, spec); !errors.Is(err, ErrArgument) {
			t.Errorf("Submit(%+v): %v, want ErrArgument", spec, err)
		}
	}
	if c.Broken() != nil {
		t.Errorf("session broken: %v", c.Broken())
	}
	c.Close()
	if n := extra.Load(); n != 0 {
		t.Errorf("%d commands reached the server", n)
	}
	for _, cfg := range []Config{{User: ""}, {User: "u\r\n"}, {User: "u", Password: "-p"}, {User: "u", AdminPassword: "a\n"}} {
		cfg.Addr = addr
		if _, err := Dial(testCtx(t), cfg); !errors.Is(err, ErrArgument) {
			t.Errorf("Dial(%+v): %v, want ErrArgument", cfg, err)
		}
	}
}

// TestTimeout: a peer that stops answering makes the call end at the
// context's deadline or cancellation, and breaks the session.
func TestTimeout(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	addr := fakeServer(t, 0, func(p *peer) {
		p.login(false)
		p.readLine() // and never answer
		<-hold
	})
	for _, cancelled := range []bool{false, true} {
		c, err := Dial(testCtx(t), fakeConfig(addr))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		want := context.DeadlineExceeded
		if cancelled {
			ctx, cancel = context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			want = context.Canceled
		}
		start := time.Now()
		err = c.KillJob(ctx, "7")
		cancel()
		if !errors.Is(err, want) || !errors.Is(err, ErrOutcomeUnknown) {
			t.Errorf("KillJob = %v, want %v and ErrOutcomeUnknown", err, want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("KillJob took %v", d)
		}
		if c.Broken() == nil {
			t.Error("session not broken")
		}
		if err := c.KillJob(testCtx(t), "7"); err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("broken session: %v", err)
		}
		c.Close()
	}
	// Config.Timeout bounds an exchange without a context deadline.
	cfg := fakeConfig(addr)
	cfg.Timeout = 150 * time.Millisecond
	c, err := Dial(testCtx(t), cfg)
	if err == nil {
		err = c.KillJob(context.Background(), "7")
		c.Close()
	}
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("with Timeout: %v", err)
	}
}

// TestReplyErrors: refusals keep the session; they match the sentinels.
func TestReplyErrors(t *testing.T) {
	addr := fakeServer(t, 1, func(p *peer) {
		p.login(true)
		p.reply("JKILL 1", "504 Job 1 not killed; already done.\r\n")
		p.reply("JKILL 99", "500 Cannot kill job 99; job does not exist (No such file or directory).\r\n")
		p.reply("JOB default", "200 Current job: (default).\r\n")
		p.reply("JNEW", "200 New job created: jobid: 12 groupid: 12.\r\n")
		p.reply(`JPARM OWNER "bob"`, "503 Permission denied: no write access to job parameter OWNER.\r\n")
		p.reply("JSUBM 12", "460 Failed to submit job 12: Unable to open scheduler FIFO.\r\n")
		p.reply("NOOP", "421 Timeout (900 seconds): closing control connection.\r\n")
	})
	cfg := fakeConfig(addr)
	cfg.AdminPassword = "a"
	c, err := Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	check := func(err error, want error, code int) {
		t.Helper()
		var re *ReplyError
		if !errors.Is(err, want) || !errors.As(err, &re) || re.Code != code {
			t.Errorf("%v: want %v, code %d", err, want, code)
		}
	}
	check(c.KillJob(ctx, "1"), ErrJobDone, 504)
	check(c.KillJob(ctx, "99"), ErrNoJob, 500)
	id, err := c.NewJob(ctx)
	if err != nil || id != "12" {
		t.Fatalf("NewJob = %q, %v", id, err)
	}
	check(c.SetJobParams(ctx, Param{"OWNER", "bob"}), ErrPermission, 503)
	err = c.SubmitJob(ctx, "12")
	check(err, ErrUnavailable, 460)
	var re *ReplyError
	if errors.As(err, &re); !re.Temporary() {
		t.Error("460 not temporary")
	}
	if c.Broken() != nil {
		t.Fatalf("broken after refusals: %v", c.Broken())
	}
	err = c.expect(ctx, command{"NOOP", "NOOP"}, 200)
	check(err, ErrUnavailable, 421)
	if c.Broken() == nil {
		t.Error("421 did not break the session")
	}
	c.Close()
}

// TestUpload: the document goes over a passive data connection to the
// control connection's peer; a PASV naming another host is refused
// without connecting.
func TestUpload(t *testing.T) {
	doc := bytes.Repeat([]byte("%PDF-1.4 fax "), 10000)
	var got []byte
	addr := fakeServer(t, 3, func(p *peer) {
		p.login(false)
		got = p.stot("/tmp/doc9.ps")
		p.pasv("10,1,2,3,4,5")
		p.quit()
	})
	var dials atomic.Int32
	cfg := fakeConfig(addr)
	cfg.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, a)
	}
	c, err := Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	name, err := c.Upload(testCtx(t), bytes.NewReader(doc))
	if err != nil || name != "/tmp/doc9.ps" {
		t.Fatalf("Upload = %q, %v", name, err)
	}
	if _, err := c.Upload(testCtx(t), bytes.NewReader(doc)); !errors.Is(err, ErrPassiveAddress) {
		t.Errorf("Upload with a foreign PASV address = %v", err)
	}
	if n := dials.Load(); n != 2 {
		t.Errorf("%d connections made, want 2 (control, one data)", n)
	}
	c.Close()
	if !bytes.Equal(got, doc) {
		t.Errorf("peer got %d bytes, sent %d", len(got), len(doc))
	}
}

// TestUploadReaderFails: a document that cannot be read to its end is
// not delivered as a complete file: the data connection is reset and the
// session broken.
func TestUploadReaderFails(t *testing.T) {
	done := make(chan error, 1)
	addr := fakeServer(t, 0, func(p *peer) {
		p.login(false)
		if !p.pasv("") || !p.expect("STOT") {
			return
		}
		d := p.acceptData()
		p.send("150 FILE: /tmp/doc1.ps (Opening new data connection).\r\n")
		_, err := io.ReadAll(d)
		done <- err
	})
	c, err := Dial(testCtx(t), fakeConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	r := io.MultiReader(bytes.NewReader([]byte("%PDF-1.4 partial")), errReader{errors.New("disk on fire")})
	if _, err := c.Upload(testCtx(t), r); err == nil || c.Broken() == nil {
		t.Errorf("Upload = %v, broken %v", err, c.Broken())
	}
	if err := <-done; err == nil {
		t.Error("peer saw a clean end of the upload")
	}
	c.Close()
}

// TestSubmit: the commands Submit sends, in order (golden).
func TestSubmit(t *testing.T) {
	var got []string
	addr := fakeServer(t, 0, func(p *peer) {
		p.login(true)
		for {
			l, ok := p.readLine()
			if !ok {
				return
			}
			got = append(got, l)
			switch {
			case l == "JNEW":
				p.send("200 New job created: jobid: 42 groupid: 42.\r\n")
			case strings.HasPrefix(l, "JPARM "):
				p.send("213 set.\r\n")
			case l == "QUIT":
				p.send("221 Goodbye.\r\n")
				return
			default:
				p.send("200 ok.\r\n")
			}
		}
	})
	cfg := fakeConfig(addr)
	cfg.AdminPassword = "a"
	c, err := Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Submit(testCtx(t), JobSpec{
		Number: "0049301234567", External: "+49 30 1234567", Owner: "tenant-7", UserKey: "6f1c2e1a-0c7e-4e3e-9d7e-8c1b0f2a9e11",
		FaxNumber: "+4930999", NotifyAddr: "ops@example.com", Notify: NotifyDoneOrRequeue,
		SendAt: time.Date(2027, 1, 2, 3, 4, 59, 0, time.FixedZone("CET", 3600)), KillAfter: 49*time.Hour + 90*time.Second,
		MaxDials: 7, MaxTries: 4, TagLine: `ACME "Fax" \ Dept.`, Modem: "freeswitch",
		Documents: []string{"/tmp/doc1.ps", "/tmp/doc2.ps"}, Params: []Param{{"TSI", "ACME"}},
	})
	if err != nil || id != "42" {
		t.Fatalf("Submit = %q, %v", id, err)
	}
	c.Close()
	golden.Check(t, filepath.Join("testdata", "submit.golden"), []byte(strings.Join(got, "\n")+"\n"))
}

// TestSubmitRefused: a refused parameter deletes the new job again.
func TestSubmitRefused(t *testing.T) {
	addr := fakeServer(t, 0, func(p *peer) {
		p.login(false)
		p.reply("JOB default", "200 Current job: (default).\r\n")
		p.reply("JNEW", "200 New job created: jobid: 5 groupid: 5.\r\n")
		p.reply(`JPARM DIALSTRING "1"`, "213 set.\r\n")
		p.reply(`JPARM OWNER "x"`, "503 Permission denied: no write access to job parameter OWNER.\r\n")
		p.reply(`JPARM LASTTIME "000300"`, "213 set.\r\n")
		p.reply(`JPARM DOCUMENT "/tmp/doc1.ps"`, "200 Added document.\r\n")
		p.reply("JDELE 5", "200 Job 5 deleted; current job: (default).\r\n")
		p.quit()
	})
	c, err := Dial(testCtx(t), fakeConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Submit(testCtx(t), JobSpec{Number: "1", Owner: "x", Documents: []string{"/tmp/doc1.ps"}})
	if id != "" || !errors.Is(err, ErrPermission) {
		t.Errorf("Submit = %q, %v", id, err)
	}
	c.Close()
}

// TestJobStatus: the state of a bare JPARM; a job that moved between JOB
// and JPARM (no JPARM reply, the NOOP's comes first) is asked for again.
func TestJobStatus(t *testing.T) {
	state := "217-Job state: jobid 7 groupid 7\r\n    SENDTIME: 20270102030400\r\n    STATE: SLEEPING\r\n" +
		"    STATUS: Busy signal detected\nsecond line\r\n    STATUSCODE: 340\r\n    JOBID: 7\r\n    OWNER: alice\r\n" +
		"    USRKEY: key 1\r\n    NPAGES: 1\r\n    TOTPAGES: 3\r\n    TOTDIALS: 2\r\n    MAXDIALS: 12\r\n" +
		"    TOTTRIES: 1\r\n    MAXTRIES: 3\r\n    DOCUMENT: PDF docq/doc7.ps.7\r\n    DOCUMENT: TIFF docq/doc8.tif.7\r\n" +
		"    TAGLINE: \r\n217 End of job 7 state.\r\n"
	addr := fakeServer(t, 1, func(p *peer) {
		p.login(false)
		p.reply("JOB 7", "200 Current job: jobid: 7 groupid: 7.\r\n")
		p.expect("JPARM")
		p.reply("NOOP", "200 NOOP command successful.\r\n") // the job moved
		p.reply("JOB 7", "200 Current job: jobid: 7 groupid: 7.\r\n")
		p.expect("JPARM")
		p.send(state)
		p.reply("NOOP", "200 NOOP command successful.\r\n")
		p.reply("JOB 8", "500 Cannot set job 8; job does not exist (No such file or directory).\r\n")
		p.quit()
	})
	c, err := Dial(testCtx(t), fakeConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.JobStatus(testCtx(t), "7")
	if err != nil {
		t.Fatal(err)
	}
	want := JobStatus{ID: "7", State: StateSleeping, Status: "Busy signal detected\nsecond line", StatusCode: 340,
		Pages: 1, TotalPages: 3, Dials: 2, MaxDials: 12, Tries: 1, MaxTries: 3, Owner: "alice", UserKey: "key 1",
		SendAt: time.Date(2027, 1, 2, 3, 4, 0, 0, time.UTC)}
	doc := st.Params["DOCUMENT"]
	st.Params = nil
	if !reflect.DeepEqual(st, want) {
		t.Errorf("JobStatus =\n%+v, want\n%+v", st, want)
	}
	if doc != "PDF docq/doc7.ps.7\nTIFF docq/doc8.tif.7" {
		t.Errorf("DOCUMENT = %q", doc)
	}
	if _, err := c.JobStatus(testCtx(t), "8"); !errors.Is(err, ErrNoJob) {
		t.Errorf("JobStatus(8) = %v, want ErrNoJob", err)
	}
	c.Close()
}

// TestJobsByUserKey: both queues are listed with the package's JOBFMT.
func TestJobsByUserKey(t *testing.T) {
	addr := fakeServer(t, 0, func(p *peer) {
		p.login(false)
		p.reply(`JOBFMT "%j|%a|%J"`, "200 JOBFMT command successful.\r\n")
		p.list("sendq", "3|W|k\r\n4|P|other\r\n12|S|k\r\ngarbage\r\n5|D|k|with|bars\r\n")
		p.list("doneq", "1|F|k\r\n12|D|k\r\n2|D|k2\r\n9|D|k") // no CR LF at the end
		p.quit()
	})
	c, err := Dial(testCtx(t), fakeConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	refs, err := c.JobsByUserKey(testCtx(t), "k")
	if err != nil {
		t.Fatal(err)
	}
	want := []JobRef{{"1", StateFailed, true}, {"3", StateReady, false}, {"9", StateDone, true}, {"12", StateDone, true}}
	if len(refs) != len(want) {
		t.Fatalf("refs %+v, want %+v", refs, want)
	}
	for i := range want {
		if refs[i] != want[i] {
			t.Errorf("refs[%d] = %+v, want %+v", i, refs[i], want[i])
		}
	}
	c.Close()
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestNewJobSeqfRace: hfaxd refuses JNEW when another session created
// the spool's sequence number file at the same moment; JNEW is tried
// again (hfaxd 6.0.7, two sessions making the first jobs of a spool).
func TestNewJobSeqfRace(t *testing.T) {
	addr := fakeServer(t, 0, func(p *peer) {
		p.login(false)
		p.reply("JOB default", "200 Current job: (default).\r\n")
		p.reply("JNEW", "503 Unable to open sequence number file sendq/seqf; File exists..\r\n")
		p.reply("JOB default", "200 Current job: (default).\r\n")
		p.reply("JNEW", "200 New job created: jobid: 1 groupid: 1.\r\n")
		p.reply("JOB default", "200 Current job: (default).\r\n")
		p.reply("JNEW", "503 Unable to open sequence number file sendq/seqf; Permission denied.\r\n")
		p.quit()
	})
	c, err := Dial(testCtx(t), fakeConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if id, err := c.NewJob(testCtx(t)); id != "1" || err != nil {
		t.Errorf("NewJob after the race = %q, %v", id, err)
	}
	if id, err := c.NewJob(testCtx(t)); id != "" || err == nil {
		t.Errorf("NewJob refused for another reason = %q, %v", id, err)
	}
}

// TestSubmitLostParams: hfaxd refuses JSUBM for a job without number
// after it reread the new job's qfile and dropped the parameters set; the
// job is deleted and made again.
func TestSubmitLostParams(t *testing.T) {
	addr := fakeServer(t, 0, func(p *peer) {
		p.login(false)
		for _, id := range []string{"7", "8"} {
			p.reply("JOB default", "200 Current job: (default).\r\n")
			p.reply("JNEW", "200 New job created: jobid: "+id+" groupid: "+id+".\r\n")
			p.reply(`JPARM DIALSTRING "1"`, "213 set.\r\n")
			p.reply(`JPARM LASTTIME "000300"`, "213 set.\r\n")
			p.reply(`JPARM DOCUMENT "/tmp/doc1.ps"`, "200 Added document.\r\n")
			if id == "7" {
				p.reply("JSUBM 7", "504 Cannot submit job 7; null or missing DIALSTRING parameter.\r\n")
				p.reply("JDELE 7", "200 Job 7 deleted; current job: (default).\r\n")
			}
		}
		p.reply("JSUBM 8", "200 Job 8 submitted.\r\n")
		p.reply("JREST 8", "200 Job 8 reset.\r\n")
		p.reply(`DELE "/tmp/doc1.ps"`, "250 DELE command successful.\r\n")
		p.quit()
	})
	c, err := Dial(testCtx(t), fakeConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Submit(testCtx(t), JobSpec{Number: "1", Documents: []string{"/tmp/doc1.ps"}})
	if id != "8" || err != nil {
		t.Errorf("Submit = %q, %v", id, err)
	}
	c.Close()
}
