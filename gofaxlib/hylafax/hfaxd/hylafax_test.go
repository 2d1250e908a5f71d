package hfaxd

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hylafaxtest"
)

// These tests run against a real hfaxd and faxq (GOFAX_TEST_HYLAFAX=1).

var capture = flag.Bool("capture", false, "write what the real hfaxd sends on control connections to testdata/capture/")

// Accounts of the real hfaxd in these tests.
var (
	admin = hylafaxtest.User{Name: "gofax", Password: "Gofax-pw1", AdminPassword: "Gofax-admin1"}
	alice = hylafaxtest.User{Name: "alice", Password: "Alice-pw1"}
)

// realServer starts faxq and hfaxd with the test accounts.
func realServer(t *testing.T, opts hylafaxtest.Options) *hylafaxtest.Server {
	t.Helper()
	opts.Users = append(opts.Users, admin, alice)
	return hylafaxtest.Start(t, opts)
}

func config(t *testing.T, srv *hylafaxtest.Server, u hylafaxtest.User, asAdmin bool) Config {
	cfg := Config{Addr: srv.Host, User: u.Name, Password: u.Password}
	if asAdmin {
		cfg.AdminPassword = u.AdminPassword
	}
	if *capture {
		captures.Lock()
		captures.hosts[t.Name()] = srv.Host
		captures.Unlock()
		cfg.DialContext = captureDialer(t)
	}
	return cfg
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dialT(t *testing.T, cfg Config) *Conn {
	t.Helper()
	c, err := Dial(ctxFor(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// twoPagePDF makes a two-page PDF with Ghostscript.
func twoPagePDF(t *testing.T) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "two.pdf")
	ps := "/Helvetica findfont 24 scalefont setfont 72 700 moveto (Page one) show showpage " +
		"72 700 moveto (Page two) show showpage"
	if b, err := exec.Command("gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite",
		"-sOutputFile="+out, "-c", ps).CombinedOutput(); err != nil {
		t.Fatalf("gs: %v: %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func upload(t *testing.T, c *Conn, doc []byte) string {
	t.Helper()
	name, err := c.Upload(ctxFor(t), bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// TestRealLogin: accounts, passwords, administrator rights.
func TestRealLogin(t *testing.T) {
	t.Parallel()
	srv := realServer(t, hylafaxtest.Options{NoSyslog: true})
	c := dialT(t, config(t, srv, admin, true))
	if !c.Admin() {
		t.Error("admin session without administrator rights")
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want error
	}{
		{"wrong password", Config{User: admin.Name, Password: "Wrong-pw1"}, ErrLogin},
		{"wrong admin password", Config{User: admin.Name, Password: admin.Password, AdminPassword: "Wrong-pw1"}, ErrLogin},
		{"no admin password", Config{User: alice.Name, Password: alice.Password, AdminPassword: alice.Password}, ErrLogin},
		{"password asked, none given", Config{User: alice.Name}, ErrLogin},
		{"dash password", Config{User: alice.Name, Password: "-x"}, ErrArgument},
		{"newline in user", Config{User: "alice\r\nQUIT"}, ErrArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Addr = srv.Host
			c, err := Dial(ctxFor(t), tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Errorf("Dial = %v, want %v", err, tc.want)
			}
			if c != nil {
				c.Close()
			}
		})
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if _, err := Dial(ctxFor(t), Config{Addr: addr, User: "x"}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Dial to a closed port = %v, want ErrUnavailable", err)
	}
}

// TestRealOwner: an administrator may set another owner (JPARM OWNER);
// a user without administrator rights gets "503 Permission denied".
func TestRealOwner(t *testing.T) {
	t.Parallel()
	srv := realServer(t, hylafaxtest.Options{NoSyslog: true})
	ctx := ctxFor(t)

	c := dialT(t, config(t, srv, admin, true))
	id, err := c.NewJob(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetJobParams(ctx, Param{"OWNER", alice.Name}); err != nil {
		t.Fatalf("administrator setting OWNER: %v", err)
	}
	st, err := c.JobStatus(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Owner != alice.Name || st.State != StateSuspended {
		t.Errorf("job %s: owner %q state %v", id, st.Owner, st.State)
	}

	u := dialT(t, config(t, srv, alice, false))
	if _, err := u.NewJob(ctx); err != nil {
		t.Fatal(err)
	}
	err = u.SetJobParams(ctx, Param{"OWNER", admin.Name})
	var re *ReplyError
	if !errors.Is(err, ErrPermission) || !errors.As(err, &re) || re.Code != 503 || re.Command != "JPARM OWNER" {
		t.Errorf("user setting OWNER = %v, want 503 permission denied", err)
	}
	t.Logf("non-admin JPARM OWNER: %v", err)
	// The session stays usable after a refusal.
	if err := u.SetJobParams(ctx, Param{"USRKEY", "k"}); err != nil {
		t.Errorf("after a refusal: %v", err)
	}
}

// TestRealSubmitPDF: a PDF submitted by the administrator for alice waits
// in sendq with owner and user key (faxstat -s shows them, JobsByUserKey
// finds it); once a modem is ready faxq converts it as it does for
// sendfax and sends it through the stub.
func TestRealSubmitPDF(t *testing.T) {
	t.Parallel()
	srv := realServer(t, hylafaxtest.Options{MaxBatchJobs: 1})
	modem := srv.ModemName("ttyHF")
	srv.AddModem(modem, hylafaxtest.ModemOptions{Caps: hylafaxtest.DefaultCaps}) // not announced: jobs wait
	ctx := ctxFor(t)
	pdf := twoPagePDF(t)

	c := dialT(t, config(t, srv, admin, true))
	name := upload(t, c, pdf)
	if !strings.HasPrefix(name, "/tmp/doc") {
		t.Errorf("upload name %q", name)
	}
	key := "fax-" + srv.ID + "-1"
	sendAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Minute)
	id, err := c.Submit(ctx, JobSpec{
		Number: "5551234", External: "+1 555 1234", Owner: alice.Name, UserKey: key,
		FaxNumber: "+15550001", NotifyAddr: "alice@example.com", Notify: NotifyDone,
		SendAt: sendAt, KillAfter: 26*time.Hour + 30*time.Minute, MaxDials: 5, MaxTries: 2,
		TagLine: `From "gofax" \ test`, Documents: []string{name},
	})
	if err != nil {
		t.Fatal(err)
	}
	job, err := srv.WaitState(ctx, id, hylafaxtest.StateReady)
	if err != nil {
		t.Fatal(err)
	}
	for tag, want := range map[string]string{
		"owner": alice.Name, "jobtag": key, "number": "5551234", "external": "+1 555 1234",
		"faxnumber": "+15550001", "mailaddr": "alice@example.com", "notify": "when done",
		"maxdials": "5", "maxtries": "2", "tagline": `From "gofax" \ test`, "desiredtl": "1",
		"tts":      strconv.FormatInt(sendAt.Unix(), 10),
		"killtime": strconv.FormatInt(sendAt.Add(26*time.Hour+30*time.Minute).Unix(), 10),
	} {
		if got := job.Field(tag); got != want {
			t.Errorf("qfile %s: %q, want %q", tag, got, want)
		}
	}
	if !bytes.Contains(job.Raw, []byte("\n!pdf:")) && !bytes.Contains(job.Raw, []byte("\npdf:")) {
		t.Errorf("qfile has no PDF document:\n%s", job.Raw)
	}
	// The uploaded temporary file was removed after the submission.
	if _, err := os.Stat(filepath.Join(srv.Spool, name)); !os.IsNotExist(err) {
		t.Errorf("%s still there: %v", name, err)
	}

	home := t.TempDir()
	os.WriteFile(filepath.Join(home, ".hylarc"), []byte("PassiveMode: true\nJobFmt: \"%-4j %-8o %a %J\"\n"), 0o644)
	cmd := exec.Command("/usr/bin/faxstat", "-h", srv.Host, "-s")
	cmd.Env = append(os.Environ(), "HOME="+home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("faxstat: %v: %s", err, out)
	}
	if want := fmt.Sprintf("%-4s %-8s W %s", id, alice.Name, key); !strings.Contains(string(out), want) {
		t.Errorf("faxstat -s lacks %q:\n%s", want, out)
	}

	refs, err := c.JobsByUserKey(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0] != (JobRef{ID: id, State: StateReady}) {
		t.Errorf("JobsByUserKey = %+v", refs)
	}
	st, err := c.JobStatus(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateReady || st.Owner != alice.Name || st.UserKey != key || st.MaxTries != 2 ||
		!st.SendAt.Equal(sendAt) || st.FaxNumber != "+15550001" {
		t.Errorf("JobStatus = %+v", st)
	}

	// The same PDF through sendfax, for comparison.
	pdfPath := filepath.Join(srv.Dir, "two.pdf")
	if err := os.WriteFile(pdfPath, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	ref := srv.Submit(t, "-d", "5551235", pdfPath)[0]

	if err := srv.Announce(modem); err != nil {
		t.Fatal(err)
	}
	// faxq converted both alike: two pages (pagehandling has one session
	// parameter block a page), then the stub "sent" them.
	var handling []string
	for _, j := range []string{id, ref} {
		done, err := srv.WaitDone(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		if done.State() != hylafaxtest.StateDone || done.Field("totpages") != "2" ||
			!bytes.Contains(done.Raw, []byte("\n!pdf:0::docq/doc")) {
			t.Errorf("job %s after faxq: state %d totpages %q:\n%s", j, done.State(), done.Field("totpages"), done.Raw)
		}
		handling = append(handling, done.Field("pagehandling"))
	}
	if handling[0] == "" || handling[0] != handling[1] {
		t.Errorf("pagehandling %q (hfaxd client) and %q (sendfax) differ", handling[0], handling[1])
	}
	st, err = c.JobStatus(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateDone || st.TotalPages != 2 {
		t.Errorf("JobStatus after sending = %+v", st)
	}
	if refs, err := c.JobsByUserKey(ctx, key); err != nil || len(refs) != 1 || !refs[0].Done || refs[0].State != StateDone {
		t.Errorf("JobsByUserKey after sending = %+v, %v", refs, err)
	}
}

// TestRealKill: a job waiting for its time is killed; killing it again is
// ErrJobDone, killing a job that does not exist ErrNoJob.
func TestRealKill(t *testing.T) {
	t.Parallel()
	srv := realServer(t, hylafaxtest.Options{NoSyslog: true})
	ctx := ctxFor(t)
	c := dialT(t, config(t, srv, admin, true))
	id, err := c.Submit(ctx, JobSpec{Number: "5551236", UserKey: "kill-me", SendAt: time.Now().Add(time.Hour),
		Documents: []string{upload(t, c, twoPagePDF(t))}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WaitState(ctx, id, hylafaxtest.StatePending); err != nil {
		t.Fatal(err)
	}
	if err := c.KillJob(ctx, id); err != nil {
		t.Fatal(err)
	}
	job, err := srv.WaitDone(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.JobStatus(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if job.State() != hylafaxtest.StateFailed || st.State != StateFailed {
		t.Errorf("killed job: qfile state %d, JobStatus %+v", job.State(), st)
	}
	t.Logf("killed job status %q", st.Status)
	if err := c.KillJob(ctx, id); !errors.Is(err, ErrJobDone) {
		t.Errorf("second kill = %v, want ErrJobDone", err)
	}
	if err := c.KillJob(ctx, "99999"); !errors.Is(err, ErrNoJob) {
		t.Errorf("kill of no job = %v, want ErrNoJob", err)
	}
	if _, err := c.JobStatus(ctx, "99999"); !errors.Is(err, ErrNoJob) {
		t.Errorf("status of no job = %v, want ErrNoJob", err)
	}
	if err := c.DeleteJob(ctx, id); err != nil {
		t.Errorf("delete of the killed job: %v", err)
	}
	if _, err := c.JobStatus(ctx, id); !errors.Is(err, ErrNoJob) {
		t.Errorf("status of the deleted job = %v, want ErrNoJob", err)
	}
}

// TestRealRecovery: the sides of a crash between JNEW and the use of
// JSUBM's reply. A job whose session ends before JSUBM is removed by
// hfaxd. A job whose JSUBM hfaxd answered before the client died is found
// by its key. A client dying right after writing JSUBM leaves at most one
// job: hfaxd removes the job (even one faxq already took) if the
// connection's end reaches it before faxq's acknowledgement does.
func TestRealRecovery(t *testing.T) {
	t.Parallel()
	srv := realServer(t, hylafaxtest.Options{})
	ctx := ctxFor(t)
	doc := twoPagePDF(t)

	c := dialT(t, config(t, srv, admin, true))
	id, err := c.NewJob(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetJobParams(ctx, Param{"USRKEY", "blank"}, Param{"DIALSTRING", "5551237"}); err != nil {
		t.Fatal(err)
	}
	c.nc.Close() // the client dies before JSUBM
	waitGone(t, srv, id)

	// lostReply writes JSUBM for a new job with key and closes the
	// connection once wait returned.
	lostReply := func(key string, wait func(c *Conn)) string {
		c := dialT(t, config(t, srv, admin, true))
		name := upload(t, c, doc)
		id, err := c.NewJob(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cmds, err := JobSpec{Number: "5551238", UserKey: key, Documents: []string{name},
			SendAt: time.Now().Add(time.Hour)}.params()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.setParams(ctx, cmds); err != nil {
			t.Fatal(err)
		}
		if _, err := c.nc.Write([]byte("JSUBM " + id + "\r\n")); err != nil {
			t.Fatal(err)
		}
		wait(c)
		c.nc.Close()
		return id
	}
	// The client dies after hfaxd replied, before it used the reply.
	id = lostReply("after-submit", func(c *Conn) {
		if rep, err := c.rd.ReadReply(); err != nil || rep.Code != 200 {
			t.Fatalf("JSUBM: %v %v", rep, err)
		}
	})
	id2 := lostReply("at-once", func(*Conn) {})

	d := dialT(t, config(t, srv, admin, true))
	refs, err := d.JobsByUserKey(ctx, "after-submit")
	if err != nil || len(refs) != 1 || refs[0].ID != id || refs[0].State != StatePending {
		t.Errorf("JobsByUserKey(after-submit) = %+v, %v; want job %s pending", refs, err, id)
	}
	if refs, err := d.JobsByUserKey(ctx, "blank"); err != nil || len(refs) != 0 {
		t.Errorf("JobsByUserKey(blank) = %+v, %v; want none", refs, err)
	}
	// Whether the job survived depends on hfaxd's timing; it is never
	// left behind unsubmitted.
	var got []JobRef
	for ctx.Err() == nil {
		job, err := srv.Job(id2)
		if err != nil || job.State() != hylafaxtest.StateSuspended { // gone or submitted
			if got, err = d.JobsByUserKey(ctx, "at-once"); err != nil {
				t.Fatal(err)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ctx.Err() != nil {
		t.Fatalf("job %s stayed suspended", id2)
	}
	if len(got) > 1 || len(got) == 1 && (got[0].ID != id2 || got[0].State != StatePending) {
		t.Errorf("JobsByUserKey(at-once) = %+v, want none or job %s pending", got, id2)
	}
	t.Logf("JSUBM written, connection closed at once: %d job(s) found", len(got))
}

// waitGone waits until hfaxd removed the qfile of job id.
func waitGone(t *testing.T, srv *hylafaxtest.Server, id string) {
	t.Helper()
	ctx := ctxFor(t)
	for {
		if _, err := srv.Job(id); err != nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("job %s not removed", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRealArguments: quoting survives hfaxd's parser; the longest line
// hfaxd takes whole is sent, a longer one refused before sending.
func TestRealArguments(t *testing.T) {
	t.Parallel()
	srv := realServer(t, hylafaxtest.Options{NoSyslog: true})
	ctx := ctxFor(t)
	c := dialT(t, config(t, srv, admin, true))
	id, err := c.NewJob(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// "JPARM TOUSER " + quotes + value = MaxCommandLine.
	long := strings.Repeat("x", MaxCommandLine-len(`JPARM TOUSER ""`))
	for _, v := range []string{`a "quoted" \ back\slash, comma  two spaces`, "Grüße €", long, `\0123`} {
		if err := c.SetJobParams(ctx, Param{"TOUSER", v}); err != nil {
			t.Fatalf("TOUSER %q: %v", v, err)
		}
		st, err := c.JobStatus(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Params["TOUSER"]; got != v {
			t.Errorf("TOUSER %q came back as %q", v, got)
		}
		if err := c.expect(ctx, command{"JOB", "JOB " + id}, 200); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{long + "x", "a\r\nJKILL 1", "a\nb", "nul\x00", "tab\t", "\x7f"} {
		if err := c.SetJobParams(ctx, Param{"TOUSER", v}); !errors.Is(err, ErrArgument) {
			t.Errorf("TOUSER %q = %v, want ErrArgument", v, err)
		}
	}
	if c.Broken() != nil {
		t.Errorf("session broken: %v", c.Broken())
	}
}

// TestRealSchedulerDown: with faxq stopped, JSUBM is refused (460) and
// counts as unavailable.
func TestRealSchedulerDown(t *testing.T) {
	t.Parallel()
	srv := realServer(t, hylafaxtest.Options{NoSyslog: true})
	ctx := ctxFor(t)
	c := dialT(t, config(t, srv, admin, true))
	name := upload(t, c, twoPagePDF(t))
	srv.StopFaxq()
	id, err := c.Submit(ctx, JobSpec{Number: "5551239", Documents: []string{name}})
	var re *ReplyError
	if !errors.As(err, &re) || !re.Temporary() || id == "" {
		t.Fatalf("Submit with faxq stopped = %q, %v; want a 4xx reply", id, err)
	}
	t.Logf("JSUBM without faxq: %v", err)
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("%v is not ErrUnavailable", err)
	}
}

// TestRealPool: concurrent submissions through a pool of two sessions;
// a session whose connection breaks is replaced.
func TestRealPool(t *testing.T) {
	t.Parallel()
	srv := realServer(t, hylafaxtest.Options{NoSyslog: true})
	ctx := ctxFor(t)
	p := NewPool(config(t, srv, admin, true), 2, time.Minute)
	defer p.Close()
	doc := twoPagePDF(t)
	// The spool's first upload and job make hfaxd's sequence number
	// files; sessions racing to create them fail (see the package doc).
	if err := p.Do(ctx, func(c *Conn) error {
		name, err := c.Upload(ctx, bytes.NewReader(doc))
		if err == nil {
			_, err = c.Submit(ctx, JobSpec{Number: "5551299", SendAt: time.Now().Add(time.Hour), Documents: []string{name}})
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = p.Do(ctx, func(c *Conn) error {
				name, err := c.Upload(ctx, bytes.NewReader(doc))
				if err != nil {
					return err
				}
				ids[i], err = c.Submit(ctx, JobSpec{Number: "555130" + strconv.Itoa(i), UserKey: "pool-" + strconv.Itoa(i),
					SendAt: time.Now().Add(time.Hour), Documents: []string{name}})
				return err
			})
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("submission %d: %v", i, errs[i])
		}
	}
	if idle := p.Idle(); idle < 1 || idle > 2 {
		t.Errorf("%d idle sessions, want 1 or 2", idle)
	}
	// Break a session under the pool: it is discarded, not reused.
	var broken *Conn
	p.Do(ctx, func(c *Conn) error {
		broken = c
		c.nc.Close()
		_, err := c.JobStatus(ctx, ids[0])
		return err
	})
	err := p.Do(ctx, func(c *Conn) error {
		if c == broken {
			return errors.New("got the broken session again")
		}
		refs, err := c.JobsByUserKey(ctx, "pool-3")
		if err == nil && (len(refs) != 1 || refs[0].ID != ids[3]) {
			err = fmt.Errorf("JobsByUserKey(pool-3) = %+v", refs)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
}

// captureDialer returns a dialer whose control connections copy what
// hfaxd sends to testdata/capture/<test>-<n>.raw.
func captureDialer(t *testing.T) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if addr != controlAddr(t) { // a data connection
			return nc, nil
		}
		captures.Lock()
		captures.n[t.Name()]++
		n := captures.n[t.Name()]
		captures.Unlock()
		os.MkdirAll(filepath.Join("testdata", "capture"), 0o755)
		f, err := os.Create(filepath.Join("testdata", "capture", fmt.Sprintf("%s-%d.raw", t.Name(), n)))
		if err != nil {
			nc.Close()
			return nil, err
		}
		t.Cleanup(func() { f.Close() })
		return &recordConn{Conn: nc, w: f}, nil
	}
}

// captures counts the control connections captured per test; hosts holds
// each test's hfaxd address.
var captures = struct {
	sync.Mutex
	n     map[string]int
	hosts map[string]string
}{n: map[string]int{}, hosts: map[string]string{}}

func controlAddr(t *testing.T) string {
	captures.Lock()
	defer captures.Unlock()
	return captures.hosts[t.Name()]
}

type recordConn struct {
	net.Conn
	w *os.File
}

func (r *recordConn) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.w.Write(b[:n])
	return n, err
}

// TestRealNoDelayedAcks: a submission (an upload, a pipelined batch of
// parameters, JSUBM) takes milliseconds. hfaxd sends each reply of a
// batch, and an upload's final reply, in a segment of its own with
// Nagle's algorithm on, so each waited for the ACK of the one before:
// without the quick ACKs of the control connection every step took the
// receiver's delayed-ACK time (40 ms on Linux), about 180 ms a
// submission. The bound is far above what a submission takes on a busy
// machine and below four delayed ACKs.
func TestRealNoDelayedAcks(t *testing.T) {
	t.Parallel()
	srv := realServer(t, hylafaxtest.Options{NoSyslog: true})
	ctx := ctxFor(t)
	pdf := twoPagePDF(t)
	c := dialT(t, config(t, srv, admin, true))
	var took []time.Duration
	for i := range 9 {
		start := time.Now()
		name := upload(t, c, pdf)
		if _, err := c.Submit(ctx, JobSpec{Number: "5551234", Owner: alice.Name, UserKey: fmt.Sprint("k", i),
			FaxNumber: "+15550001", MaxTries: 2, TagLine: "x", Documents: []string{name}}); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	if median := took[len(took)/2]; median > 100*time.Millisecond {
		t.Errorf("a submission takes %v (median of %v): replies wait for delayed ACKs", median, took)
	}
}
