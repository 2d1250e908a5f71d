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
	"sync"
	"syscall"
	"time"
)

// MaxOutput bounds what is kept of a script's stdout and of its stderr:
// DynamicConfig prints a few lines, and a runaway script must not fill the
// daemon's memory. The rest is read and discarded so the script never blocks.
const MaxOutput = 64 << 10

// DefaultTimeout applies when Cmd.Timeout is zero: no script runs unbounded.
const DefaultTimeout = time.Minute

// drainWait bounds reading a script's output once it has exited: a
// grandchild that left the group (setsid) and keeps the output pipes
// open cannot hold Run longer. What the pipes hold then is still read;
// the exit status stands either way. A variable so that tests can make
// it tiny.
var drainWait = 2 * time.Second

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
	// OutputOpen is true when a process the script started kept its
	// output open after the script exited: what it wrote by drainWait
	// is in Stdout and Stderr, the rest is not read. It is not an error.
	OutputOpen bool
	ExitCode   int // -1 if the process did not exit by itself (killed, not started)
	Duration   time.Duration
}

// Run executes c and waits for it. A process running as root starts the
// script as the owner of c.Dir (the spool, owned by uucp), real and
// effective user and group ids and the owner's groups alike; a process
// with real uid 0 and another effective uid gets ErrPrivileges (see
// Identity.Become for leaving that state). On timeout or cancellation of ctx the
// whole process group is killed with SIGKILL and ErrTimeout (or ctx.Err())
// is returned. A non-zero exit returns an error wrapping ErrExit that quotes
// the first line of stderr.
//
// The outcome is the script's exit status: its output is read from pipes
// the script writes to directly, and a script that exited is never
// reported as failed because its output was read late (a loaded machine)
// or is held open by a process it left behind.
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

	cmd := exec.Command(c.Path, c.Args...)
	cmd.Dir = c.Dir
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	cmd.Stdin = devNull()
	var stdout, stderr capped
	outR, outW, err := os.Pipe()
	if err != nil {
		return res, fmt.Errorf("hook: %w", err)
	}
	defer outR.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return res, fmt.Errorf("hook: %w", err)
	}
	defer errR.Close()
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}

	start := time.Now()
	err = cmd.Start()
	// The script holds the write ends now; ours must go for EOF to come.
	outW.Close()
	errW.Close()
	if err != nil {
		res.Duration = time.Since(start)
		return res, fmt.Errorf("hook: %s: %w", c.Path, err)
	}
	var readers sync.WaitGroup
	readers.Go(func() { stdout.readFrom(outR) })
	readers.Go(func() { stderr.readFrom(errR) })
	stop := context.AfterFunc(ctx, func() {
		// Negative pid: the whole group, so grandchildren die too.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	err = cmd.Wait()
	killed := !stop() && ctx.Err() != nil
	res.Duration = time.Since(start)
	if cmd.ProcessState != nil && cmd.ProcessState.Exited() {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	// The script has exited; read what its pipes hold.
	read := make(chan struct{})
	go func() {
		readers.Wait()
		close(read)
	}()
	select {
	case <-read:
	case <-time.After(drainWait):
		res.OutputOpen = true
		past := time.Unix(1, 0)
		outR.SetReadDeadline(past)
		errR.SetReadDeadline(past)
		<-read
	}
	res.Stdout, res.StdoutTruncated = stdout.buf.Bytes(), stdout.dropped
	res.Stderr, res.StderrTruncated = stderr.buf.Bytes(), stderr.dropped
	switch {
	case killed && res.ExitCode < 0:
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

// devNull returns /dev/null open for reading, the scripts' standard
// input, opened once (nil, which os/exec opens for each run, if it
// cannot be opened).
var devNull = sync.OnceValue(func() *os.File {
	f, err := os.Open(os.DevNull)
	if err != nil {
		return nil
	}
	return f
})

// capped keeps the first MaxOutput bytes written to it.
type capped struct {
	buf     bytes.Buffer
	dropped bool
}

// readBuf is the size of one read from an output pipe (a pipe holds
// 64 KiB).
const readBuf = 16 << 10

// readFrom reads r into w until EOF or an error. Once Run gave up
// waiting (a read deadline), what the pipe still holds is read without
// waiting.
func (w *capped) readFrom(r *os.File) {
	buf := make([]byte, readBuf)
	for {
		n, err := r.Read(buf)
		w.Write(buf[:n])
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			r.SetReadDeadline(time.Time{})
			if rc, err := r.SyscallConn(); err == nil {
				rc.Read(func(fd uintptr) bool {
					for {
						n, err := syscall.Read(int(fd), buf)
						if n <= 0 || err != nil {
							return true // drained, or EOF: never wait
						}
						w.Write(buf[:n])
					}
				})
			}
		}
		return
	}
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
