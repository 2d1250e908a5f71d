package hylafaxtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Job states as faxq writes them in the qfile's "state:" line.
const (
	StateSuspended = 1
	StatePending   = 2 // waiting for its time to send
	StateSleeping  = 3 // waiting for a retry
	StateBlocked   = 4 // blocked by concurrent calls to the destination
	StateReady     = 5 // waiting for a modem
	StateActive    = 6 // the send program runs
	StateDone      = 7
	StateFailed    = 8
)

// Job is a qfile as faxq or hfaxd left it.
type Job struct {
	ID   string
	Path string // relative to the spool: "sendq/q12" or "doneq/q12"
	Raw  []byte
}

// Field returns the value of the last "tag:value" line for tag (a later
// line overrides an earlier one in faxq), with the blanks after the colon
// skipped as faxq does. A status continued over several lines comes back
// with its first line only; use hylafax.ParseQfile for the whole file.
func (j Job) Field(tag string) string {
	var v string
	sc := bufio.NewScanner(bytes.NewReader(j.Raw))
	sc.Buffer(nil, len(j.Raw)+1)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), tag+":"); ok {
			v = strings.TrimLeft(rest, " ")
		}
	}
	return v
}

// State returns the job state (StateDone, ...), 0 when unknown.
func (j Job) State() int {
	v := j.Field("state")
	if v == "" {
		return 0
	}
	return int(v[0] - '0') // faxq reads only the first character
}

var requestID = regexp.MustCompile(`(?m)^request id is ([0-9]+) `)

// Submit runs "sendfax -h <Host> -n args..." and returns the job ids it
// reports. A later "-h" in args (see HostFor) overrides Host. It fails t
// when sendfax fails or reports no job.
//
// hfaxd itself sometimes refuses a job it was just given, about once in
// 200 concurrent submissions: it rereads the job's qfile between JNEW and
// JSUBM and loses its parameters, and JSUBM answers "504 ... null or
// missing DIALSTRING". Submit then runs sendfax once more (and logs it
// with t.Log), after removing with faxrm the jobs the failed run made
// already, so that the test gets the jobs it asked for.
func (s *Server) Submit(t testing.TB, args ...string) []string {
	t.Helper()
	return s.Sendfax(t, append([]string{"-n"}, args...)...)
}

// Sendfax is Submit without -n: sendfax makes a cover page unless args
// say otherwise.
func (s *Server) Sendfax(t testing.TB, args ...string) []string {
	t.Helper()
	return submit(t, func(path string, args ...string) (string, error) {
		return run(context.Background(), s.Dir, s.ClientEnv(), path, args...)
	}, s.Host, args...)
}

// faxrmPath is HylaFAX's faxrm.
const faxrmPath = "/usr/bin/faxrm"

// dialstringRace is what sendfax reports when hfaxd lost a job's
// parameters before JSUBM.
const dialstringRace = "null or missing DIALSTRING"

// submit is Submit with the programs run by run.
func submit(t testing.TB, run func(path string, args ...string) (string, error), host string, args ...string) []string {
	t.Helper()
	sendArgs := append([]string{"-h", host}, args...)
	out, err := run(sendfaxPath, sendArgs...)
	if err != nil && strings.Contains(out, dialstringRace) {
		t.Logf("hylafaxtest: hfaxd refused a job for its missing DIALSTRING (its own race); sendfax runs again: %s", strings.TrimSpace(out))
		if made := jobIDs(out); len(made) > 0 {
			if rmOut, err := run(faxrmPath, append([]string{"-h", host}, made...)...); err != nil {
				t.Fatalf("hylafaxtest: removing the jobs of the failed sendfax: %v: %s", err, rmOut)
			}
		}
		out, err = run(sendfaxPath, sendArgs...)
	}
	if err != nil {
		t.Fatal(err)
	}
	ids := jobIDs(out)
	if len(ids) == 0 {
		t.Fatalf("hylafaxtest: sendfax reported no job: %s", out)
	}
	return ids
}

// jobIDs returns the job ids sendfax's output reports.
func jobIDs(out string) []string {
	var ids []string
	for _, m := range requestID.FindAllStringSubmatch(out, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// Job reads the qfile of job id from sendq, or from doneq once it is there.
func (s *Server) Job(id string) (Job, error) {
	if _, err := strconv.ParseUint(id, 10, 32); err != nil {
		return Job{}, fmt.Errorf("hylafaxtest: bad job id %q", id)
	}
	var firstErr error
	for _, q := range []string{"sendq", "doneq"} {
		rel := q + "/q" + id
		b, err := os.ReadFile(filepath.Join(s.Spool, rel))
		if err == nil {
			return Job{ID: id, Path: rel, Raw: b}, nil
		}
		if firstErr == nil || !errors.Is(err, os.ErrNotExist) {
			firstErr = err
		}
	}
	return Job{}, fmt.Errorf("hylafaxtest: job %s: %w", id, firstErr)
}

// WaitDone waits until job id is in doneq with state done (7) or failed
// (8) and returns that qfile. While the job waits for a modem it pokes
// faxq's scheduler once a second (see the package doc).
func (s *Server) WaitDone(ctx context.Context, id string) (Job, error) {
	return s.WaitState(ctx, id, StateDone, StateFailed)
}

// WaitState waits until the qfile of job id shows one of states and
// returns it. Unless StateReady is among states, it pokes faxq once a
// second while the job is ready, to get around faxq's lost wake-ups.
func (s *Server) WaitState(ctx context.Context, id string, states ...int) (Job, error) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	lastPoke := time.Now()
	var last Job
	for {
		j, err := s.Job(id)
		if err == nil && len(j.Raw) > 0 {
			last = j
			st := j.State()
			// A terminal state counts only once the job is in doneq.
			finished := strings.HasPrefix(j.Path, "doneq/")
			if slices.Contains(states, st) && (st < StateDone || finished) {
				return j, nil
			}
			if finished && (st == StateDone || st == StateFailed) {
				return j, fmt.Errorf("hylafaxtest: job %s finished in state %d, not %v; status %q",
					id, st, states, j.Field("status"))
			}
			if st == StateReady && !slices.Contains(states, StateReady) && time.Since(lastPoke) >= pokeInterval {
				s.WriteFIFO("S" + id) // re-submitting a queued job only wakes the scheduler
				lastPoke = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("hylafaxtest: job %s not in state %v: %w; last qfile %s:\n%s",
				id, states, ctx.Err(), last.Path, last.Raw)
		case <-tick.C:
		}
	}
}

// Faxstat runs "faxstat -h <Host> args..." and returns its output.
func (s *Server) Faxstat(args ...string) (string, error) {
	return run(context.Background(), s.Dir, s.ClientEnv(), faxstatPath, append([]string{"-h", s.Host}, args...)...)
}

// Run runs the HylaFAX program /usr/lib/hylafax/bin/<tool> (faxinfo,
// xferfaxstats, recvstats, faxmodem, ...; not the /usr/sbin mount
// wrappers) in the spool directory and returns its combined output.
// Relative paths such as "log/xferfaxlog" therefore name spool files;
// tools taking a spool option need "-q", s.Spool in args. Shell scripts
// that hard-code "SPOOL=/var/spool/hylafax" (xferfaxstats, recvstats) run
// from a copy in Dir with that one line pointing at Spool instead.
func (s *Server) Run(tool string, args ...string) (string, error) {
	if tool == "" || strings.ContainsRune(tool, '/') {
		return "", fmt.Errorf("hylafaxtest: bad tool name %q", tool)
	}
	path := filepath.Join(toolDir, tool)
	script, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("hylafaxtest: %w", err)
	}
	const spoolLine = "\nSPOOL=" + skelSpool + "\n"
	if bytes.HasPrefix(script, []byte("#!")) && bytes.Contains(script, []byte(spoolLine)) {
		path = filepath.Join(s.Dir, "tool-"+tool)
		script = bytes.Replace(script, []byte(spoolLine), []byte("\nSPOOL="+s.Spool+"\n"), 1)
		if err := os.WriteFile(path, script, 0o755); err != nil {
			return "", fmt.Errorf("hylafaxtest: %w", err)
		}
	}
	return run(context.Background(), s.Spool, s.ClientEnv(), path, args...)
}

// StubCalls returns the argument lists the stub SendFaxCmd was run with,
// one line per run ("-m <modem> sendq/q<id> ...").
func (s *Server) StubCalls() []string { return s.lines("stub-send.log") }

// SetStubExit sets the exit status of the following stub SendFaxCmd runs
// (2 = done, 1 = failed, 0 = retry; see the package doc).
func (s *Server) SetStubExit(code int) error {
	return os.WriteFile(filepath.Join(s.Dir, "stub-exit"), []byte(strconv.Itoa(code)+"\n"), 0o644)
}

// Notifications returns the argument lists NotifyCmd was run with, one
// line per run ("doneq/q<id> done 0:00:00").
func (s *Server) Notifications() []string { return s.lines("notify.log") }

// WaitNotification waits until NotifyCmd ran with arguments starting with
// prefix (e.g. "doneq/q7 failed") and returns that line. faxq runs it
// after moving the job, so it may come after WaitDone returned.
func (s *Server) WaitNotification(ctx context.Context, prefix string) (string, error) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		for _, l := range s.Notifications() {
			if strings.HasPrefix(l, prefix) {
				return l, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("hylafaxtest: no notification %q: %w; got %q", prefix, ctx.Err(), s.Notifications())
		case <-tick.C:
		}
	}
}

func (s *Server) lines(name string) []string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, name))
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
