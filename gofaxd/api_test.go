package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hylafaxtest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres/pgtest"
)

// The REST API end to end: a real gofaxd (this test binary started again
// as TestChildGofaxd, so that it can be killed) with [database] and [web],
// a private PostgreSQL (pgtest), a real faxq and hfaxd (hylafaxtest) with
// an hfaxd administrator account for the API, gofaxsend as faxq's
// SendFaxCmd and its NotifyCmd mode, and the FreeSWITCH simulator in
// loopback: every call gofaxsend places comes back to gofaxd as a
// reception. The tests talk to the API over HTTP only, and look at
// HylaFAX with its own tools and files.

// Accounts of the API rig.
var (
	rigHfaxd      = hylafaxtest.User{Name: "gofaxapi", Password: "Api-pw1", AdminPassword: "Api-admin1"}
	rigAdminToken = "rig-admin-token-0123456789"
)

// Numbers of the rig's tenants: A sends, B receives.
const (
	numberA = "+4930111111"
	numberB = "+4940222222"
)

// apiRig is the whole system on 127.0.0.1.
type apiRig struct {
	t     *testing.T
	srv   *hylafaxtest.Server
	sim   *esltest.Sim
	db    *sql.DB
	ln    net.Listener // gofaxd's event socket, passed to every run (LISTEN_FDS)
	lf    *os.File
	conf  string
	modem string
	dsn   string

	*proc  // the running gofaxd, shared by the subtests' copies
	client *http.Client

	keyA, keyB   string // API keys of alice (tenant A) and bob (tenant B)
	tenantA      string
	tenantB      string
	pdf          []byte // two pages
	uid, gid     int
	hfaxdAddress string
}

// proc is gofaxd as a child process.
type proc struct {
	child *exec.Cmd
	out   *syncBuffer
	outs  []*syncBuffer // every run's output, for failures
	base  string        // the API's URL
}

// gofaxsendBinary builds gofaxsend once for the test binary.
var gofaxsendBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "gofaxd-api-bin-")
	if err != nil {
		return "", err
	}
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "gofaxsend")
	goTool := "go"
	if root := runtime.GOROOT(); root != "" {
		goTool = filepath.Join(root, "bin", "go")
	}
	if out, err := exec.Command(goTool, "build", "-o", bin, "../gofaxsend").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build gofaxsend: %v\n%s", err, out)
	}
	return bin, nil
})

func startAPIRig(t *testing.T) *apiRig {
	hylafaxtest.Require(t)
	bin, err := gofaxsendBinary()
	if err != nil {
		t.Fatal(err)
	}
	r := &apiRig{t: t, dsn: pgtest.NewDatabase(t, ""), proc: &proc{}}
	r.db, err = sql.Open("postgres", r.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.db.Close() })
	u, err := user.Lookup("uucp")
	if err != nil {
		t.Fatal(err)
	}
	r.uid, _ = strconv.Atoi(u.Uid)
	r.gid, _ = strconv.Atoi(u.Gid)

	r.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.ln.Close() })
	r.lf, err = r.ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.lf.Close() })
	// Calls as a tenth of real ones: a two-page fax takes a few seconds,
	// long enough to see it sending.
	r.sim = esltest.New(t, esltest.Options{SocketAddr: r.ln.Addr().String(), TimeScale: 0.1})
	r.srv = hylafaxtest.Start(t, hylafaxtest.Options{
		SendFaxCmd:   bin,
		Env:          []string{"GOFAX_CONFIG=" + hylafaxtest.DirVar + "/gofax.conf"},
		Config:       []string{"JobReqBusy: 3", "JobReqNoAnswer: 3", "JobReqNoCarrier: 3", "JobReqProto: 3"},
		JobReqOther:  2,
		MaxBatchJobs: 1,
		Users:        []hylafaxtest.User{rigHfaxd},
	})
	r.hfaxdAddress = r.srv.Host
	r.modem = r.srv.ModemName("api") + "0"
	r.conf = filepath.Join(r.srv.Dir, "gofax.conf")

	// faxq's NotifyCmd: gofaxsend-notify next to gofaxsend, then
	// HylaFAX's own bin/notify, mailing through a stub.
	binDir := filepath.Join(r.srv.Dir, "bin")
	if err := os.Symlink("gofaxsend", filepath.Join(binDir, "gofaxsend-notify")); err != nil {
		t.Fatal(err)
	}
	stub := filepath.Join(r.srv.Dir, "sendmail")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\ncat > /dev/null\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.srv.Spool, "etc", "FaxNotify"), []byte("SENDMAIL="+stub+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.srv.SetConfig("NotifyCmd: " + filepath.Join(binDir, "gofaxsend-notify")); err != nil {
		t.Fatal(err)
	}
	r.pdf = twoPagePDF(t)
	r.client = &http.Client{Timeout: 2 * time.Minute}
	t.Cleanup(func() {
		if t.Failed() {
			for i, o := range r.outs {
				t.Logf("gofaxd run %d:\n%s", i+1, o.String())
			}
			b, _ := os.ReadFile(filepath.Join(r.srv.Dir, "gofaxsend.log"))
			t.Logf("gofaxsend log:\n%s", b)
		}
	})
	t.Cleanup(func() { r.stopGofaxd() })
	r.startGofaxd("")
	r.makeTenants()
	return r
}

// writeConf writes gofax.conf for gofaxd and gofaxsend; hfaxd is the
// address the API submits to ("" = the real hfaxd).
func (r *apiRig) writeConf(hfaxd string) {
	r.t.Helper()
	if hfaxd == "" {
		hfaxd = r.hfaxdAddress
	}
	host, port, _ := net.SplitHostPort(hfaxd)
	sum := sha256.Sum256([]byte(rigAdminToken))
	conf := fmt.Sprintf(`[freeswitch]
socket = %s
password = %s
gateway = carrier
ident = 4711
countrycode = 49
[hylafax]
spooldir = %s
modems = 1
modemprefix = %s
recvfilemode = 0644
[gofaxd]
socket = 127.0.0.1:0
enablet38 = true
requestt38 = true
[gofaxsend]
enablet38 = true
requestt38 = true
logfile = %s
[database]
dsn = "%s"
hostname = rig
[web]
listen = 127.0.0.1:0
admintoken = ops:%s
ratelimit = 0
maxupload = 1M
hfaxdhost = %s
hfaxdport = %s
hfaxduser = %s
hfaxdpassword = %s
hfaxdadminpassword = %s
`, r.sim.Addr(), r.sim.Password(), r.srv.Spool, strings.TrimSuffix(r.modem, "0"), filepath.Join(r.srv.Dir, "gofaxsend.log"),
		r.dsn, hex.EncodeToString(sum[:]), host, port, rigHfaxd.Name, rigHfaxd.Password, rigHfaxd.AdminPassword)
	if err := os.WriteFile(r.conf, []byte(conf), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

var apiListening = regexp.MustCompile(`msg="api: listening".* addr=(\S+)`)

// startGofaxd starts gofaxd as a child process (hfaxd as in writeConf)
// and waits until its API answers and its modem is ready.
func (r *apiRig) startGofaxd(hfaxd string) {
	t := r.t
	t.Helper()
	r.writeConf(hfaxd)
	child := exec.Command(os.Args[0], "-test.run=^TestChildGofaxd$")
	child.Env = append(os.Environ(), childConfEnv+"="+r.conf, "LISTEN_FDS=1")
	child.ExtraFiles = []*os.File{r.lf}
	r.out = &syncBuffer{}
	r.outs = append(r.outs, r.out)
	child.Stdout, child.Stderr = r.out, r.out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	r.child = child
	deadline := time.Now().Add(time.Minute)
	for {
		if m := apiListening.FindStringSubmatch(r.out.String()); m != nil {
			r.base = "http://" + m[1]
			break
		}
		if time.Now().After(deadline) || child.ProcessState != nil {
			t.Fatalf("gofaxd's API did not start:\n%s", r.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The API answers 503 until the database's schema is ready.
	r.waitFor("the API ready", func() bool {
		res, err := r.try("GET", "/v1/openapi.json", rigAdminToken, nil)
		return err == nil && res.status == 200
	})
	// gofaxd runs as root here (as uucp in production): faxq (uucp)
	// must write the modem's FIFO.
	fifo := filepath.Join(r.srv.Spool, "FIFO."+r.modem)
	r.waitFor("the modem's FIFO", func() bool { return os.Chown(fifo, r.uid, r.gid) == nil })
	r.waitFor("the modem ready", func() bool {
		b, _ := os.ReadFile(filepath.Join(r.srv.Spool, "status", r.modem))
		return strings.Contains(string(b), "Running and idle")
	})
}

// stopGofaxd stops gofaxd with SIGTERM (the daemon's graceful stop).
func (r *apiRig) stopGofaxd() {
	if r.child == nil {
		return
	}
	r.child.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { r.child.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		r.child.Process.Kill()
		<-done
		r.t.Error("gofaxd did not stop within 90 s")
	}
	r.child = nil
}

// killGofaxd kills gofaxd with SIGKILL: a crash.
func (r *apiRig) killGofaxd() {
	r.child.Process.Kill()
	r.child.Wait()
	r.child = nil
}

func (r *apiRig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// apiResponse is a response read in full.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

func (a apiResponse) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("%d %s: %v", a.status, a.body, err)
	}
}

// do calls the API with the bearer token key ("" = none); body is nil, a
// *multipart form (fields and files) or a value sent as JSON.
func (r *apiRig) do(method, path, key string, body any, hdr ...string) apiResponse {
	r.t.Helper()
	res, err := r.try(method, path, key, body, hdr...)
	if err != nil {
		r.t.Fatal(err)
	}
	return res
}

func (r *apiRig) try(method, path, key string, body any, hdr ...string) (apiResponse, error) {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case *faxForm:
		data, ct := b.encode()
		rd, ctype = bytes.NewReader(data), ct
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return apiResponse{}, err
		}
		rd, ctype = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, r.base+path, rd)
	if err != nil {
		return apiResponse{}, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := r.client.Do(req)
	if err != nil {
		return apiResponse{}, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	return apiResponse{status: res.StatusCode, header: res.Header, body: data}, err
}

func (r *apiRig) expect(what string, res apiResponse, want int) {
	r.t.Helper()
	if res.status != want {
		r.t.Fatalf("%s: %d, want %d: %s", what, res.status, want, res.body)
	}
}

// faxForm is a POST /v1/faxes body.
type faxForm struct {
	fields [][2]string
	files  [][]byte
}

func newFax(to string, docs ...[]byte) *faxForm {
	return &faxForm{fields: [][2]string{{"to", to}}, files: docs}
}

func (f *faxForm) encode() ([]byte, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, kv := range f.fields {
		w.WriteField(kv[0], kv[1])
	}
	for i, d := range f.files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="doc%d"`, i))
		pw, _ := w.CreatePart(h)
		pw.Write(d)
	}
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

// makeTenants creates, as the operator, tenants A (number A, user alice)
// and B (number B, user bob) with an API key each, all through the API.
func (r *apiRig) makeTenants() {
	t := r.t
	admin := rigAdminToken
	var obj struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	tenant := func(name, number, username string) (string, string) {
		res := r.do("POST", "/v1/tenants", admin, map[string]any{"name": name})
		r.expect("tenant", res, 201)
		res.decode(t, &obj)
		tid := obj.ID
		res = r.do("POST", "/v1/numbers", admin, map[string]any{"tenant_id": tid, "number": number, "ident": name})
		r.expect("number", res, 201)
		res.decode(t, &obj)
		res = r.do("POST", "/v1/users", admin, map[string]any{"tenant_id": tid, "username": username,
			"password": "correct horse " + username, "role": "tenant-admin", "default_number_id": obj.ID})
		r.expect("user", res, 201)
		res.decode(t, &obj)
		res = r.do("POST", "/v1/users/"+obj.ID+"/api-keys", admin, map[string]any{"name": "test"})
		r.expect("api key", res, 201)
		res.decode(t, &obj)
		return tid, obj.Key
	}
	r.tenantA, r.keyA = tenant("Tenant A", numberA, "alice")
	r.tenantB, r.keyB = tenant("Tenant B", numberB, "bob")
	// gofaxsend sends alice's jobs from the routing snapshot gofaxd
	// writes once the database announced the change.
	r.waitFor("alice in the routing snapshot", func() bool {
		b, _ := os.ReadFile(filepath.Join(r.srv.Spool, "gofax", "routing.json"))
		return bytes.Contains(b, []byte(`"bob"`)) && bytes.Contains(b, []byte(`"alice"`))
	})
}

// fax is the part of the fax resource the tests look at.
type fax struct {
	ID        string `json:"id"`
	Direction string `json:"direction"`
	Status    string `json:"status"`
	From      string `json:"from"`
	To        string `json:"to"`
	Pages     struct {
		Total       int `json:"total"`
		Transferred int `json:"transferred"`
	} `json:"pages"`
	Error *struct {
		Code string `json:"code"`
		Text string `json:"text"`
	} `json:"error"`
	HylaFAX struct {
		Host  string `json:"host"`
		JobID int    `json:"job_id"`
	} `json:"hylafax"`
	Attempts []json.RawMessage `json:"attempts"`
}

// send submits the rig's two-page PDF as alice to number.
func (r *apiRig) send(to string, hdr ...string) fax {
	r.t.Helper()
	res := r.do("POST", "/v1/faxes", r.keyA, newFax(to, r.pdf), hdr...)
	r.expect("POST /v1/faxes", res, 202)
	var f fax
	res.decode(r.t, &f)
	if f.Status != "queued" || f.HylaFAX.JobID == 0 || f.HylaFAX.Host != "rig" {
		r.t.Fatalf("submitted: %s", res.body)
	}
	return f
}

// follow polls fax id as key until it has status final, and returns the
// statuses it went through, in order, and the fax.
func (r *apiRig) follow(key, id string, final ...string) ([]string, fax) {
	r.t.Helper()
	seen, _, f := r.trace(key, id, final...)
	return seen, f
}

// trace is follow, also returning how many attempts the fax had each time
// it was seen becoming sending.
func (r *apiRig) trace(key, id string, final ...string) (seen []string, sendingAt []int, f fax) {
	r.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	lastPoke := time.Now()
	for {
		res := r.do("GET", "/v1/faxes/"+id, key, nil)
		r.expect("GET fax", res, 200)
		res.decode(r.t, &f)
		if len(seen) == 0 || seen[len(seen)-1] != f.Status {
			seen = append(seen, f.Status)
			if f.Status == "sending" {
				sendingAt = append(sendingAt, len(f.Attempts))
			}
		}
		if slices.Contains(final, f.Status) {
			return seen, sendingAt, f
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("fax %s: statuses %q, never %q: %s", id, seen, final, res.body)
		}
		// faxq loses wake-ups (see hylafaxtest): of its scheduler, so a
		// job left ready is submitted again, which only wakes it; and
		// of its dispatcher, which once reaped a send program 3 minutes
		// after it exited, when the next FIFO message came: a no-op
		// message wakes it.
		if job := strconv.Itoa(f.HylaFAX.JobID); f.HylaFAX.JobID > 0 && time.Since(lastPoke) >= time.Second {
			if j, err := r.srv.Job(job); err == nil && strings.HasPrefix(j.Path, "sendq/") && j.State() == hylafaxtest.StateReady {
				r.srv.WriteFIFO("S" + job)
			} else {
				r.srv.WriteFIFO("N")
			}
			lastPoke = time.Now()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// jobsOf returns the HylaFAX jobs (sendq and doneq) whose user key is
// faxID.
func (r *apiRig) jobsOf(faxID string) []string {
	var ids []string
	for _, q := range []string{"sendq", "doneq"} {
		files, _ := filepath.Glob(filepath.Join(r.srv.Spool, q, "q*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			j := hylafaxtest.Job{Raw: b}
			if j.Field("jobtag") == faxID {
				ids = append(ids, q+"/"+filepath.Base(f))
			}
		}
	}
	return ids
}

// count runs a counting query.
func (r *apiRig) count(query string, args ...any) int {
	r.t.Helper()
	var n int
	if err := r.db.QueryRow(query, args...).Scan(&n); err != nil {
		r.t.Fatal(err)
	}
	return n
}

// queueFiles lists sendq, doneq, docq and the API's upload directory.
func (r *apiRig) queueFiles() []string {
	var all []string
	for _, d := range []string{"sendq", "doneq", "docq", "tmp/gofax-api"} {
		filepath.Walk(filepath.Join(r.srv.Spool, d), func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				all = append(all, strings.TrimPrefix(p, r.srv.Spool+"/"))
			}
			return nil
		})
	}
	slices.Sort(all)
	return all
}

// twoPagePDF makes a two-page A4 PDF with Ghostscript.
func twoPagePDF(t *testing.T) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "two.pdf")
	ps := "/Helvetica findfont 24 scalefont setfont 72 700 moveto (API fax page one) show showpage " +
		"72 700 moveto (API fax page two) show showpage"
	if b, err := exec.Command("gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite", "-sPAPERSIZE=a4",
		"-sOutputFile="+out, "-c", ps).CombinedOutput(); err != nil {
		t.Fatalf("gs: %v: %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pdfinfoPages counts a PDF's pages with poppler's pdfinfo.
func pdfinfoPages(t *testing.T, pdf []byte) int {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdfinfo", f).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("pdfinfo found no pages:\n%s", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestAPIEndToEnd drives the REST API of a real gofaxd against real
// HylaFAX and PostgreSQL: a PDF sent to tenant B's number goes queued →
// sending → delivered and B lists and downloads the fax it received;
// a busy destination goes retrying, then delivered; a fax is canceled
// while it waits for its retry; broken and oversized documents leave
// nothing behind; a repeated Idempotency-Key makes one job; a conversion
// failure in faxq shows as failed with its reason; the softmodem fallback
// list is read and edited through gofaxd's event socket connection; a
// user suspended with psql is refused at once; PostgreSQL down is 503.
func TestAPIEndToEnd(t *testing.T) {
	r := startAPIRig(t)

	t.Run("delivered end to end", func(t *testing.T) {
		r := r.with(t)
		f := r.send(numberB)
		seen, sendingAt, f := r.trace(r.keyA, f.ID, "delivered", "failed")
		// sending while the call goes on: before its attempt is recorded.
		if !slices.Equal(seen, []string{"queued", "sending", "delivered"}) || sendingAt[0] != 0 {
			t.Errorf("statuses %q (sending with %v attempts), want queued, sending (no attempt yet), delivered", seen, sendingAt)
		}
		if f.Pages.Total != 2 || f.Pages.Transferred != 2 || len(f.Attempts) != 1 || f.From != numberA || f.To != numberB {
			t.Errorf("delivered fax %+v", f)
		}
		// faxq's view: the job is done, owned by alice, keyed by the fax.
		j, err := r.srv.Job(strconv.Itoa(f.HylaFAX.JobID))
		if err != nil || j.State() != hylafaxtest.StateDone || j.Field("owner") != "alice" || j.Field("jobtag") != f.ID ||
			j.Field("faxnumber") != numberA {
			t.Errorf("HylaFAX job %s: %v\n%s", j.Path, err, j.Raw)
		}
		// Tenant B lists the fax it received, and downloads it as PDF.
		var in fax
		r.waitFor("B's received fax", func() bool {
			res := r.do("GET", "/v1/faxes?direction=inbound&status=received", r.keyB, nil)
			var l struct{ Data []fax }
			res.decode(t, &l)
			if len(l.Data) > 0 {
				in = l.Data[0]
			}
			return len(l.Data) == 1
		})
		if in.From != numberA || in.To != numberB || in.Pages.Transferred != 2 {
			t.Errorf("received fax %+v", in)
		}
		var doc apiResponse
		r.waitFor("the received fax's document", func() bool {
			doc = r.do("GET", "/v1/faxes/"+in.ID+"/document", r.keyB, nil)
			return doc.status == 200
		})
		if ct := doc.header.Get("Content-Type"); ct != "application/pdf" || pdfinfoPages(t, doc.body) != 2 {
			t.Errorf("document: %s, want a 2-page PDF", ct)
		}
		tif := r.do("GET", "/v1/faxes/"+in.ID+"/document", r.keyB, nil, "Accept", "image/tiff")
		if tif.status != 200 || !bytes.HasPrefix(tif.body, []byte("II*\x00")) {
			t.Errorf("TIFF: %d %.8q", tif.status, tif.body)
		}
		// Isolation: A does not see B's reception, B not A's sent fax.
		r.expect("A reads B's fax", r.do("GET", "/v1/faxes/"+in.ID+"/document", r.keyA, nil), 404)
		r.expect("B reads A's fax", r.do("GET", "/v1/faxes/"+f.ID, r.keyB, nil), 404)
		r.expect("operator", r.do("GET", "/v1/faxes/"+in.ID+"/document", rigAdminToken, nil), 200)
	})

	t.Run("busy, retrying, delivered", func(t *testing.T) {
		r := r.with(t)
		r.sim.Route(numberB, esltest.Scenario{Outcome: esltest.Busy})
		f := r.send(numberB)
		seen, _ := r.follow(r.keyA, f.ID, "retrying")
		r.sim.Unroute(numberB)
		more, f := r.follow(r.keyA, f.ID, "delivered", "failed")
		seen = append(seen, more[1:]...)
		// The busy call may be over before its start is seen: sending
		// before retrying is optional.
		if !containsInOrder(seen, []string{"queued", "retrying", "sending", "delivered"}) || len(f.Attempts) != 2 {
			t.Errorf("statuses %q with %d attempts, want queued, retrying, sending, delivered with 2", seen, len(f.Attempts))
		}
	})

	t.Run("canceled while retrying", func(t *testing.T) {
		r := r.with(t)
		const busy = "+4989000001"
		r.sim.Route(busy, esltest.Scenario{Outcome: esltest.Busy})
		f := r.send(busy)
		r.follow(r.keyA, f.ID, "retrying")
		r.expect("B cancels A's fax", r.do("DELETE", "/v1/faxes/"+f.ID, r.keyB, nil), 404)
		r.expect("cancel", r.do("DELETE", "/v1/faxes/"+f.ID, r.keyA, nil), 202)
		_, f = r.follow(r.keyA, f.ID, "canceled", "failed", "delivered")
		if f.Status != "canceled" {
			t.Errorf("status %s, want canceled", f.Status)
		}
		out, err := r.srv.Faxstat("-s")
		if err != nil || regexp.MustCompile(`(?m)^\s*`+strconv.Itoa(f.HylaFAX.JobID)+`\s`).MatchString(out) {
			t.Errorf("faxstat -s still lists job %d: %v\n%s", f.HylaFAX.JobID, err, out)
		}
		r.expect("cancel again", r.do("DELETE", "/v1/faxes/"+f.ID, r.keyA, nil), 409)
	})

	t.Run("broken PDF leaves nothing behind", func(t *testing.T) {
		r := r.with(t)
		before, rows := r.queueFiles(), r.count("SELECT count(*) FROM faxes")
		broken := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("garbage "), 200)...)
		res := r.do("POST", "/v1/faxes", r.keyA, newFax(numberB, broken))
		r.expect("broken PDF", res, 422)
		big := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{'x'}, 2<<20)...)
		res = r.do("POST", "/v1/faxes", r.keyA, newFax(numberB, big))
		r.expect("oversized", res, 413)
		if after := r.queueFiles(); !slices.Equal(before, after) {
			t.Errorf("files before %q, after %q", before, after)
		}
		if n := r.count("SELECT count(*) FROM faxes"); n != rows {
			t.Errorf("%d fax rows, before %d", n, rows)
		}
	})

	t.Run("Idempotency-Key retry makes one job", func(t *testing.T) {
		r := r.with(t)
		const to = "+4989000002"
		r.sim.Route(to, esltest.Scenario{Outcome: esltest.Success})
		first := r.send(to, "Idempotency-Key", "invoice-4711")
		res := r.do("POST", "/v1/faxes", r.keyA, newFax(to, r.pdf), "Idempotency-Key", "invoice-4711")
		r.expect("retry", res, 202)
		var again fax
		res.decode(t, &again)
		if again.ID != first.ID || again.HylaFAX.JobID != first.HylaFAX.JobID || res.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry answered %s", res.body)
		}
		if jobs := r.jobsOf(first.ID); len(jobs) != 1 {
			t.Errorf("HylaFAX has %d jobs of the fax: %q", len(jobs), jobs)
		}
		r.follow(r.keyA, first.ID, "delivered")
	})

	t.Run("conversion failure in faxq", func(t *testing.T) {
		r := r.with(t)
		script := filepath.Join(r.srv.Dir, "bin", "failing-pdf2fax")
		if err := os.WriteFile(script, []byte("#!/bin/sh\necho 'Cannot convert: broken fonts' >&2\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := r.srv.SetConfig("PDF2FaxCmd: " + script); err != nil {
			t.Fatal(err)
		}
		defer r.srv.SetConfig("PDF2FaxCmd: bin/pdf2fax")
		f := r.send("+4989000003")
		_, f = r.follow(r.keyA, f.ID, "failed", "delivered")
		if f.Status != "failed" || f.Error == nil || f.Error.Text != "Cannot convert: broken fonts" {
			t.Errorf("fax %+v, want failed with faxq's reason", f)
		}
	})

	t.Run("softmodem fallback list", func(t *testing.T) {
		r := r.with(t)
		added := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
		r.sim.SetDB("fallback", "4989000099", added)
		r.sim.SetDB("fallback-inbound", "4989000099", added)
		res := r.do("GET", "/v1/fallbacks", rigAdminToken, nil)
		r.expect("list", res, 200)
		if !bytes.Contains(res.body, []byte(`"number":"+4989000099"`)) || !bytes.Contains(res.body, []byte(`"counts_for":"inbound"`)) {
			t.Errorf("list: %s", res.body)
		}
		r.expect("a tenant's user", r.do("GET", "/v1/fallbacks", r.keyA, nil), 403)
		// Written as the number plan allows: the key gofaxd and gofaxsend
		// use, in both realms.
		r.expect("delete", r.do("DELETE", "/v1/fallbacks/089%20000099", rigAdminToken, nil), 204)
		for k := range r.sim.DB() {
			if strings.HasSuffix(k, "/4989000099") {
				t.Errorf("%s still listed", k)
			}
		}
	})

	t.Run("a user suspended with psql is refused at once", func(t *testing.T) {
		r := r.with(t)
		r.expect("bob's key, cached", r.do("GET", "/v1/faxes?limit=1", r.keyB, nil), 200)
		if _, err := r.db.Exec("UPDATE users SET suspended = true WHERE username = 'bob'"); err != nil {
			t.Fatal(err)
		}
		defer r.db.Exec("UPDATE users SET suspended = false WHERE username = 'bob'")
		// The routing change notification makes gofaxd drop its cached
		// credentials: well within the 10 s a verified key is trusted.
		deadline := time.Now().Add(5 * time.Second)
		for r.do("GET", "/v1/faxes?limit=1", r.keyB, nil).status != 403 {
			if time.Now().After(deadline) {
				t.Fatal("a suspended user's cached API key still works")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("PostgreSQL down", func(t *testing.T) {
		r := r.with(t)
		cluster := pgtest.Shared(t)
		if err := cluster.Stop(pgtest.Immediate); err != nil {
			t.Fatal(err)
		}
		up := false
		defer func() {
			if !up {
				cluster.Start(context.Background())
			}
		}()
		res := r.do("POST", "/v1/faxes", r.keyA, newFax(numberB, r.pdf))
		// The API key may still be cached (10 s): the submission fails
		// on the fax row; otherwise on verifying the key.
		if res.status != 503 || res.header.Get("Retry-After") == "" {
			t.Errorf("database down: %d %v %s", res.status, res.header, res.body)
		}
		if err := cluster.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		up = true
		r.waitFor("the API again", func() bool {
			res, err := r.try("GET", "/v1/faxes?limit=1", r.keyA, nil)
			return err == nil && res.status == 200
		})
	})
}

// with returns the rig for subtest t.
func (r *apiRig) with(t *testing.T) *apiRig {
	c := *r
	c.t = t
	return &c
}

func containsInOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// jsubmProxy stands between gofaxd and hfaxd on the control connection
// and stops at JSUBM: hold keeps JSUBM from hfaxd (gofaxd dies between
// JNEW and JSUBM); otherwise JSUBM goes through and its reply is dropped
// (gofaxd dies after hfaxd queued the job, before it learned so).
type jsubmProxy struct {
	ln     net.Listener
	target string
	hold   bool
	seen   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

func startJSUBMProxy(t *testing.T, target string, hold bool) *jsubmProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &jsubmProxy{ln: ln, target: target, hold: hold, seen: make(chan struct{})}
	p.wg.Go(p.serve)
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *jsubmProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.relay(c) })
	}
}

func (p *jsubmProxy) relay(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	var mu sync.Mutex
	dropping := false
	go func() {
		// hfaxd → gofaxd, unless the reply to JSUBM is to be lost.
		buf := make([]byte, 4096)
		for {
			n, err := s.Read(buf)
			mu.Lock()
			drop := dropping
			mu.Unlock()
			if n > 0 && !drop {
				c.Write(buf[:n])
			}
			if err != nil {
				c.Close()
				return
			}
		}
	}()
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return // gofaxd is gone: hfaxd's session ends with it
		}
		if strings.HasPrefix(line, "JSUBM") {
			if p.hold {
				p.once.Do(func() { close(p.seen) })
				io.Copy(io.Discard, br) // until gofaxd dies
				return
			}
			mu.Lock()
			dropping = true
			mu.Unlock()
			s.Write([]byte(line))
			p.once.Do(func() { close(p.seen) })
			continue
		}
		s.Write([]byte(line))
	}
}

func (p *jsubmProxy) addr() string { return p.ln.Addr().String() }

// TestAPICrashBetweenJNEWAndJSUBM kills gofaxd while it submits a fax:
// once before JSUBM reached hfaxd (hfaxd drops the job with the session:
// the fax is queued again from the documents gofaxd kept, at its next
// start), once after hfaxd queued the job but before gofaxd heard of it
// (the job is found by its USRKEY and recorded). Either way the fax is
// delivered by exactly one HylaFAX job, and the client repeating its
// request with the same Idempotency-Key gets that fax.
func TestAPICrashBetweenJNEWAndJSUBM(t *testing.T) {
	r := startAPIRig(t)
	for _, tc := range []struct {
		name string
		hold bool
		to   string
	}{
		{"before JSUBM", true, "+4989000011"},
		{"JSUBM reply lost", false, "+4989000012"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := r.with(t)
			r.sim.Route(tc.to, esltest.Scenario{Outcome: esltest.Success})
			proxy := startJSUBMProxy(t, r.hfaxdAddress, tc.hold)
			r.stopGofaxd()
			r.startGofaxd(proxy.addr())
			key := "crash-" + strconv.FormatBool(tc.hold)
			posted := make(chan error, 1)
			go func() {
				_, err := r.try("POST", "/v1/faxes", r.keyA, newFax(tc.to, r.pdf), "Idempotency-Key", key)
				posted <- err
			}()
			select {
			case <-proxy.seen:
			case err := <-posted:
				t.Fatalf("the submission ended before JSUBM: %v", err)
			case <-time.After(2 * time.Minute):
				t.Fatal("no JSUBM")
			}
			var id string
			r.waitFor("the fax row", func() bool {
				return r.db.QueryRow("SELECT id FROM faxes WHERE idempotency_key = $1", key).Scan(&id) == nil
			})
			if !tc.hold {
				// hfaxd queued the job (the reply is lost on its way).
				r.waitFor("the job in sendq", func() bool { return len(r.jobsOf(id)) == 1 })
			}
			r.killGofaxd()
			<-posted // the connection broke
			if tc.hold && len(r.jobsOf(id)) != 0 {
				t.Fatalf("a job before JSUBM: %q", r.jobsOf(id))
			}
			r.startGofaxd("")
			_, f := r.follow(r.keyA, id, "delivered", "failed")
			if f.Status != "delivered" || f.HylaFAX.JobID == 0 {
				t.Errorf("recovered fax %+v", f)
			}
			res := r.do("POST", "/v1/faxes", r.keyA, newFax(tc.to, r.pdf), "Idempotency-Key", key)
			var again fax
			res.decode(t, &again)
			if res.status != 202 || again.ID != id || again.HylaFAX.JobID != f.HylaFAX.JobID {
				t.Errorf("the client's retry: %d %s", res.status, res.body)
			}
			if jobs := r.jobsOf(id); len(jobs) != 1 {
				t.Errorf("HylaFAX has %d jobs of the fax: %q", len(jobs), jobs)
			}
			if files, _ := os.ReadDir(filepath.Join(r.srv.Spool, "tmp", "gofax-api")); len(files) != 0 {
				t.Errorf("upload directory keeps %d entries", len(files))
			}
		})
	}
}
