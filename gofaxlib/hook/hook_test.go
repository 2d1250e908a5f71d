package hook

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// script writes an executable /bin/sh script into a temp dir.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hook.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		args     []string
		env      []string
		wantOut  string
		wantErr  string
		wantCode int
		is       error
	}{
		{"stdout and args", `printf '%s|' "$@"`, []string{"a b", "$HOME", "*"}, nil, "a b|$HOME|*|", "", 0, nil},
		{"env added", `printf %s "$HANGUPCAUSE"`, nil, []string{"HANGUPCAUSE=NORMAL_CLEARING"}, "NORMAL_CLEARING", "", 0, nil},
		{"exit code", "echo oops >&2; echo more >&2; exit 3", nil, nil, "", "hook: non-zero exit status 3 from ", 3, ErrExit},
		{"working dir", "pwd", nil, nil, "", "", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := script(t, tt.body)
			dir := t.TempDir()
			res, err := Run(context.Background(), Cmd{Path: p, Args: tt.args, Env: tt.env, Dir: dir, Timeout: 10 * time.Second})
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, tt.is)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if tt.is == ErrExit && !strings.HasSuffix(err.Error(), ": oops") {
				t.Errorf("error %q does not quote stderr's first line", err)
			}
			want := tt.wantOut
			if tt.name == "working dir" {
				want = dir + "\n"
			}
			if string(res.Stdout) != want || res.ExitCode != tt.wantCode {
				t.Errorf("stdout %q code %d, want %q code %d", res.Stdout, res.ExitCode, want, tt.wantCode)
			}
		})
	}
}

func TestRunNotFound(t *testing.T) {
	res, err := Run(context.Background(), Cmd{Path: filepath.Join(t.TempDir(), "missing")})
	if !errors.Is(err, os.ErrNotExist) || res.ExitCode != -1 {
		t.Errorf("err = %v, code %d", err, res.ExitCode)
	}
}

// TestRunTimeoutKillsGroup runs a script that starts a background sleep and
// then sleeps itself; the deadline must end both, and Run must return long
// before the sleeps would.
func TestRunTimeoutKillsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	p := script(t, "sleep 30 &\necho $! > "+pidFile+"\necho started\nsleep 30\n")
	start := time.Now()
	res, err := Run(context.Background(), Cmd{Path: p, Dir: filepath.Dir(p), Timeout: 2 * time.Second})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if el := time.Since(start); el > 25*time.Second {
		t.Errorf("Run returned after %v: the sleeps were not killed", el)
	}
	if string(res.Stdout) != "started\n" || res.ExitCode != -1 {
		t.Errorf("stdout %q code %d", res.Stdout, res.ExitCode)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	// The grandchild must be gone (or a zombie waiting for init).
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("background child %d survived the timeout", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := script(t, "sleep 30\n")
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err := Run(ctx, Cmd{Path: p, Dir: filepath.Dir(p), Timeout: time.Minute})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestRunOutputCap(t *testing.T) {
	// 200 KiB on each stream; the script must not block and both are capped.
	p := script(t, "head -c 204800 /dev/zero; head -c 204800 /dev/zero >&2; echo done >&2\n")
	res, err := Run(context.Background(), Cmd{Path: p, Dir: filepath.Dir(p), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stdout) != MaxOutput || !res.StdoutTruncated || len(res.Stderr) != MaxOutput || !res.StderrTruncated {
		t.Errorf("stdout %d (%v), stderr %d (%v), want %d each, truncated", len(res.Stdout), res.StdoutTruncated, len(res.Stderr), res.StderrTruncated, MaxOutput)
	}
	hi := script(t, "echo hi\n")
	small, err := Run(context.Background(), Cmd{Path: hi, Dir: filepath.Dir(hi), Timeout: 10 * time.Second})
	if err != nil || small.StdoutTruncated || string(small.Stdout) != "hi\n" {
		t.Errorf("small output: %q %v %v", small.Stdout, small.StdoutTruncated, err)
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"bin/faxrcvd", []string{"bin/faxrcvd"}, false},
		{"  /usr/bin/python3   etc/dc.py  -v ", []string{"/usr/bin/python3", "etc/dc.py", "-v"}, false},
		{`a 'b c' "d e"`, []string{"a", "b c", "d e"}, false},
		{`a 'it''s'`, []string{"a", "its"}, false},
		{`"a \"q\" \$x \\ \n"`, []string{`a "q" $x \ \n`}, false},
		{`a\ b c`, []string{"a b", "c"}, false},
		{`x $HOME; rm -rf / | y && z`, []string{"x", "$HOME;", "rm", "-rf", "/", "|", "y", "&&", "z"}, false},
		{`a ''`, []string{"a", ""}, false},
		{`'a`, nil, true},
		{`"a`, nil, true},
		{`a\`, nil, true},
		{"   ", nil, true},
	}
	for _, tt := range tests {
		got, err := Split(tt.in)
		if (err != nil) != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Split(%q) = %q, %v; want %q, err %v", tt.in, got, err, tt.want, tt.err)
		}
		if err != nil && !errors.Is(err, ErrSyntax) {
			t.Errorf("Split(%q) error %v does not wrap ErrSyntax", tt.in, err)
		}
	}
}

func TestCommand(t *testing.T) {
	spool := t.TempDir()
	if err := os.MkdirAll(filepath.Join(spool, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	spaced := filepath.Join(spool, "my scripts")
	if err := os.MkdirAll(spaced, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"bin/faxrcvd", "my scripts/dc"} {
		if err := os.WriteFile(filepath.Join(spool, f), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		spec     string
		wantPath string
		wantArgs []string
	}{
		{"bin/faxrcvd", filepath.Join(spool, "bin/faxrcvd"), []string{"f.tif", "freeswitch0"}},
		{"my scripts/dc", filepath.Join(spool, "my scripts/dc"), []string{"f.tif", "freeswitch0"}},
		{"/usr/bin/env -i bin/faxrcvd", "/usr/bin/env", []string{"-i", "bin/faxrcvd", "f.tif", "freeswitch0"}},
		{"python3 'etc/dynamic config.py'", "python3", []string{"etc/dynamic config.py", "f.tif", "freeswitch0"}},
	}
	for _, tt := range tests {
		c, err := Command(tt.spec, spool, "f.tif", "freeswitch0")
		if err != nil {
			t.Errorf("Command(%q): %v", tt.spec, err)
			continue
		}
		if c.Path != tt.wantPath || !reflect.DeepEqual(c.Args, tt.wantArgs) || c.Dir != spool {
			t.Errorf("Command(%q) = %+v, want path %q args %q", tt.spec, c, tt.wantPath, tt.wantArgs)
		}
	}
	if _, err := Command(" ", spool); !errors.Is(err, ErrSyntax) {
		t.Errorf("empty command: %v", err)
	}
}

func TestParseConfigOutput(t *testing.T) {
	src, err := os.ReadFile("testdata/dynamicconfig.out")
	if err != nil {
		t.Fatal(err)
	}
	vs := ParseConfigOutput(src)
	want := Values{
		{"rejectcall", "false"},
		{"localidentifier", "+49 30 1234"},
		{"tagline", `Fax from "ACME": page`},
		{"gateway", "gw1,gw2"},
		{"rejectcall", "yes"},
		{"empty", ""},
		{"url", "http://x"},
	}
	if !reflect.DeepEqual(vs, want) {
		t.Errorf("got  %q\nwant %q", vs, want)
	}
	tests := []struct {
		key  string
		val  string
		ok   bool
		bool bool
	}{
		{"RejectCall", "yes", true, true}, // last wins
		{"LOCALIDENTIFIER", "+49 30 1234", true, false},
		{"missing", "", false, false},
		{"empty", "", true, false},
	}
	for _, tt := range tests {
		v, ok := vs.Get(tt.key)
		if v != tt.val || ok != tt.ok || vs.Bool(tt.key) != tt.bool {
			t.Errorf("%s: Get = %q, %v; Bool = %v", tt.key, v, ok, vs.Bool(tt.key))
		}
	}
	for in, want := range map[string]bool{"true": true, "YES": true, "On": true, "1": true, "false": false, "0": false, "no": false, "": false, "tru": false} {
		if got := (Values{{"k", in}}).Bool("k"); got != want {
			t.Errorf("Bool(%q) = %v", in, got)
		}
	}
}

func FuzzParseConfigOutput(f *testing.F) {
	src, err := os.ReadFile("testdata/dynamicconfig.out")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(src)
	f.Add([]byte("a:\"\"\r\n:x\n\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		vs := ParseConfigOutput(b)
		var out strings.Builder
		for _, v := range vs {
			if v.Key == "" || v.Key != strings.ToLower(strings.TrimSpace(v.Key)) || strings.ContainsAny(v.Key, ":\n") || v.Key[0] == '#' {
				t.Errorf("bad key %q", v.Key)
			}
			if strings.Contains(v.Value, "\n") {
				t.Errorf("value %q spans lines", v.Value)
			}
			out.WriteString(v.Key + `: "` + v.Value + "\"\n")
		}
		// Writing the values back quoted and parsing again is the identity.
		if again := ParseConfigOutput([]byte(out.String())); !reflect.DeepEqual(again, vs) {
			t.Errorf("round trip:\n got %q\nwant %q", again, vs)
		}
	})
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"bin/faxrcvd", `a 'b c' "d \" e" f\ g`, `'`, `x $HOME;|&`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := Split(s)
		if err != nil {
			return
		}
		// Quoting every word in single quotes and splitting again is the identity.
		q := make([]string, len(words))
		for i, w := range words {
			q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
		again, err := Split(strings.Join(q, " "))
		if err != nil || !reflect.DeepEqual(again, words) {
			t.Errorf("Split(%q) = %q; re-quoted gives %q, %v", s, words, again, err)
		}
	})
}

func BenchmarkParseConfigOutput(b *testing.B) {
	src, err := os.ReadFile("testdata/dynamicconfig.out")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ParseConfigOutput(src)
	}
}

// BenchmarkRun measures the cost of one script run (fork, exec, wait) with
// the process-group and capture machinery.
func BenchmarkRun(b *testing.B) {
	for b.Loop() {
		if _, err := Run(context.Background(), Cmd{Path: "/bin/true"}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRunOutputHeldOpen: a script that exits while a process it started
// (in a session of its own) keeps its output open is reported with its
// own exit status and the output written so far, not as a failure.
func TestRunOutputHeldOpen(t *testing.T) {
	if _, err := os.Stat("/usr/bin/setsid"); err != nil {
		t.Skip("no setsid")
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	p := script(t, "echo before\necho warn >&2\nsetsid sh -c 'echo $$ > "+pidFile+"; exec sleep 30' &\nsleep 0.2\nexit 0\n")
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	start := time.Now()
	res, err := Run(context.Background(), Cmd{Path: p, Dir: filepath.Dir(p), Timeout: 20 * time.Second})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("err = %v, exit code %d; want success", err, res.ExitCode)
	}
	if string(res.Stdout) != "before\n" || string(res.Stderr) != "warn\n" || !res.OutputOpen {
		t.Errorf("stdout %q stderr %q OutputOpen %v", res.Stdout, res.Stderr, res.OutputOpen)
	}
	if el := time.Since(start); el > 15*time.Second {
		t.Errorf("Run waited %v for the output", el)
	}
}

// TestRunBurst: many scripts at once on a busy machine, with the output
// read as late as possible, all report their own exit status and their
// whole output: a script's result never depends on when its output pipe
// was read.
func TestRunBurst(t *testing.T) {
	old := drainWait
	drainWait = time.Microsecond
	t.Cleanup(func() { drainWait = old })
	p := script(t, `echo "out $1"; echo "err $1" >&2; exit $(($1 % 3))`+"\n")
	ctx, stopLoad := context.WithCancel(context.Background())
	var load sync.WaitGroup
	for range 4 { // keep the CPUs busy
		load.Go(func() {
			for ctx.Err() == nil {
			}
		})
	}
	const runs = 200
	var wg sync.WaitGroup
	errs := make(chan string, runs)
	for i := range runs {
		wg.Go(func() {
			arg := strconv.Itoa(i)
			res, err := Run(context.Background(), Cmd{Path: p, Args: []string{arg}, Dir: filepath.Dir(p), Timeout: time.Minute})
			want := i % 3
			switch {
			case res.ExitCode != want:
				errs <- fmt.Sprintf("run %d: exit code %d, want %d (%v)", i, res.ExitCode, want, err)
			case (err == nil) != (want == 0) || want > 0 && !errors.Is(err, ErrExit):
				errs <- fmt.Sprintf("run %d: exit %d reported as %v", i, want, err)
			case string(res.Stdout) != "out "+arg+"\n" || string(res.Stderr) != "err "+arg+"\n":
				errs <- fmt.Sprintf("run %d: stdout %q stderr %q", i, res.Stdout, res.Stderr)
			}
		})
	}
	wg.Wait()
	stopLoad()
	load.Wait()
	close(errs)
	n := 0
	for e := range errs {
		if n++; n <= 10 {
			t.Error(e)
		}
	}
	if n > 0 {
		t.Errorf("%d of %d runs misreported", n, runs)
	}
}
