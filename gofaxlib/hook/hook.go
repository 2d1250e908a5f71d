// Package hook runs the operator's scripts (DynamicConfig, faxrcvd, notify
// hooks) safely: no shell, never as root unless root owns the spool (see
// Run), a deadline after which the script and every process it started are
// killed, output captured up to a limit, and the exit status reported.
package hook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// MaxOutput bounds what is kept of a script's stdout and of its stderr:
// DynamicConfig prints a few lines, and a runaway script must not fill the
// daemon's memory. The rest is read and discarded so the script never blocks.
const MaxOutput = 64 << 10

// DefaultTimeout applies when Cmd.Timeout is zero: no script runs unbounded.
const DefaultTimeout = time.Minute

// waitDelay is how long Run waits for the output pipes after the deadline
// killed the process group; a grandchild that left the group (setsid) and
// keeps the pipes open cannot hold Run longer than this.
const waitDelay = 2 * time.Second

// Errors returned by Run, test with errors.Is.
var (
	ErrTimeout = errors.New("hook: deadline exceeded, killed")
	ErrExit    = errors.New("hook: non-zero exit status")
)

// Cmd describes one script run.
type Cmd struct {
	Path    string        // program; a name without "/" is looked up in PATH
	Args    []string      // arguments after the program name
	Env     []string      // "KEY=value" added to (and overriding) the daemon's environment
	Dir     string        // working directory; "" = the daemon's
	Timeout time.Duration // 0 = DefaultTimeout
}

// Result is what a run produced. It is filled as far as possible even when
// Run returns an error.
type Result struct {
	Stdout, Stderr  []byte // at most MaxOutput bytes each
	StdoutTruncated bool   // more stdout was written and discarded
	StderrTruncated bool
	ExitCode        int // -1 if the process did not exit by itself (killed, not started)
	Duration        time.Duration
}

// Run executes c and waits for it. A process running as root starts the
// script as the owner of c.Dir (the spool, owned by uucp), real and
// effective user and group ids and the owner's groups alike; a process
// with real uid 0 and another effective uid gets ErrPrivileges (see
// Identity.Become for leaving that state). On timeout or cancellation of ctx the
// whole process group is killed with SIGKILL and ErrTimeout (or ctx.Err())
// is returned. A non-zero exit returns an error wrapping ErrExit that quotes
// the first line of stderr.
func Run(ctx context.Context, c Cmd) (Result, error) {
	res := Result{ExitCode: -1}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	cred, err := credential(c.Dir)
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Dir = c.Dir
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	cmd.Stdin = nil // /dev/null
	stdout, stderr := &capped{}, &capped{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	cmd.Cancel = func() error {
		// Negative pid: the whole group, so grandchildren die too.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = waitDelay

	start := time.Now()
	err = cmd.Run()
	res.Duration = time.Since(start)
	res.Stdout, res.StdoutTruncated = stdout.buf.Bytes(), stdout.dropped
	res.Stderr, res.StderrTruncated = stderr.buf.Bytes(), stderr.dropped
	if cmd.ProcessState != nil && cmd.ProcessState.Exited() {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	killed := ctx.Err() != nil && (res.ExitCode < 0 || errors.Is(err, exec.ErrWaitDelay))
	switch {
	case killed:
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return res, fmt.Errorf("%w after %v: %s", ErrTimeout, timeout, c.Path)
		}
		return res, fmt.Errorf("hook: %s: %w", c.Path, ctx.Err())
	case err == nil:
		return res, nil
	case res.ExitCode > 0:
		return res, fmt.Errorf("%w %d from %s%s", ErrExit, res.ExitCode, c.Path, firstLine(res.Stderr))
	}
	return res, fmt.Errorf("hook: %s: %w", c.Path, err)
}

func firstLine(b []byte) string {
	b = bytes.TrimSpace(b)
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 {
		return ""
	}
	const max = 200
	if len(b) > max {
		b = b[:max]
	}
	return ": " + string(bytes.TrimSpace(b))
}

// capped keeps the first MaxOutput bytes written to it.
type capped struct {
	buf     bytes.Buffer
	dropped bool
}

func (w *capped) Write(p []byte) (int, error) {
	room := MaxOutput - w.buf.Len()
	if len(p) > room {
		w.dropped = true
		w.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return w.buf.Write(p)
}
