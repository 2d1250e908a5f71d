package hfaxd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultTimeout bounds one exchange with hfaxd (a command and its reply,
// or an upload or a listing) when the context has no earlier deadline.
const DefaultTimeout = 30 * time.Second

// MaxCommandLine bounds a command line without its CR LF. hfaxd reads a
// line into a 512-byte buffer and takes the rest of a longer line as a
// command of its own; 509 bytes plus CR LF is the longest line it takes
// whole (measured with hfaxd 6.0.7).
const MaxCommandLine = 509

// Config says where hfaxd is and how to log in.
type Config struct {
	// Addr is hfaxd's address, "127.0.0.1:4559". Data connections
	// (uploads, listings) go to the same host, IPv4 only (PASV).
	Addr string
	// User and Password log in (USER, PASS). hfaxd asks for a password
	// unless etc/hosts.hfaxd names none for the account.
	User, Password string
	// AdminPassword, when set, gains administrator rights (ADMIN),
	// needed to submit jobs for other owners.
	AdminPassword string
	// Timeout bounds each exchange (DefaultTimeout when 0); a context
	// deadline that comes earlier counts instead.
	Timeout time.Duration
	// DialContext, when set, makes the connections (control and data)
	// instead of a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Conn is one logged-in session with hfaxd. It is not safe for
// concurrent use. After an error that is not a *ReplyError (a lost or
// timed-out connection, a protocol error, a cancelled context) the
// session is unusable: Broken reports it and every later call fails.
type Conn struct {
	nc      net.Conn
	rd      *Reader
	peer    netip.Addr
	timeout time.Duration
	admin   bool
	broken  error // why the session is unusable, nil while it is fine
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
}

// command is one command line and the name errors give it (the line
// without its arguments, which may be secret).
type command struct {
	name, line string
}

// Dial connects to hfaxd, reads its greeting, logs in (USER, PASS and,
// with an AdminPassword, ADMIN), and sets the session up: times in GMT
// (TZONE), binary transfers (TYPE I). A refused login is ErrLogin;
// hfaxd not answering or not serving is ErrUnavailable.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	if cfg.User == "" {
		return nil, fmt.Errorf("%w: empty user name", ErrArgument)
	}
	user, err := quote("user name", cfg.User)
	if err != nil {
		return nil, err
	}
	// hfaxd drops a leading '-' of a password (an old switch for terse
	// replies), so such a password can never match.
	if strings.HasPrefix(cfg.Password, "-") || strings.HasPrefix(cfg.AdminPassword, "-") {
		return nil, fmt.Errorf("%w: hfaxd cannot take a password starting with '-'", ErrArgument)
	}
	pass, err := quote("password", cfg.Password)
	if err != nil {
		return nil, err
	}
	admin, err := quote("administrator password", cfg.AdminPassword)
	if err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dial := cfg.DialContext
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nc, err := dial(dctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	c := newConn(nc, timeout, dial)
	if err := c.login(ctx, cfg, user, pass, admin); err != nil {
		c.nc.Close()
		return nil, err
	}
	return c, nil
}

func newConn(nc net.Conn, timeout time.Duration, dial func(context.Context, string, string) (net.Conn, error)) *Conn {
	c := &Conn{nc: nc, rd: NewReader(ackConn{nc}), timeout: timeout, dial: dial}
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		c.peer = ap.Addr().Unmap()
	}
	return c
}

func (c *Conn) login(ctx context.Context, cfg Config, user, pass, admin string) error {
	var greeting Reply
	err := c.guard(ctx, "greeting", func(time.Time) error {
		var err error
		greeting, err = c.rd.ReadReply()
		return err
	})
	if err != nil {
		return err
	}
	if greeting.Code != 220 {
		return fmt.Errorf("%w: %w", ErrUnavailable, replyError("greeting", greeting))
	}
	last := "USER"
	rep, err := c.do1(ctx, command{last, "USER " + user})
	if err != nil {
		return err
	}
	if rep.Code == 331 {
		if cfg.Password == "" {
			return fmt.Errorf("%w: hfaxd asks a password for %s", ErrLogin, cfg.User)
		}
		last = "PASS"
		if rep, err = c.do1(ctx, command{last, "PASS " + pass}); err != nil {
			return err
		}
	}
	if rep.Code != 230 {
		return replyError(last, rep)
	}
	if cfg.AdminPassword != "" {
		if err := c.expect(ctx, command{"ADMIN", "ADMIN " + admin}, 230); err != nil {
			return err
		}
		c.admin = true
	}
	setup := []command{{"TZONE", "TZONE GMT"}, {"TYPE", "TYPE I"},
		{"SITE LOCKWAIT", fmt.Sprintf("SITE LOCKWAIT %d", lockWait(c.timeout))}}
	reps, err := c.do(ctx, setup...)
	if err != nil {
		return err
	}
	for i, rep := range reps {
		if rep.Code != 200 && rep.Code != 213 {
			return replyError(setup[i].name, rep)
		}
	}
	return nil
}

// maxLockWait bounds how long hfaxd waits for a qfile lock (SITE
// LOCKWAIT; its default is not to wait). faxq holds the lock while it
// rewrites the qfile or moves the job to doneq, a few milliseconds;
// without waiting, JDELE or JPARM right after a state change fail with
// "Job file lock failed".
const maxLockWait = 5 * time.Second

// lockWait returns the SITE LOCKWAIT seconds for an exchange timeout: at
// most half of it, so that hfaxd answers before the exchange times out.
func lockWait(timeout time.Duration) int {
	return max(1, int(min(maxLockWait, timeout/2)/time.Second))
}

// Admin reports whether the session has administrator rights.
func (c *Conn) Admin() bool { return c.admin }

// Broken returns why the session is unusable, nil while it is usable.
func (c *Conn) Broken() error { return c.broken }

// Close ends the session: QUIT (hfaxd then removes the files uploaded in
// it and jobs created but not submitted), then the connection is closed.
func (c *Conn) Close() error {
	if c.broken == nil {
		ctx, cancel := context.WithTimeout(context.Background(), quitTimeout)
		c.do1(ctx, command{"QUIT", "QUIT"})
		cancel()
	}
	if c.broken == nil {
		c.broken = errors.New("hfaxd: session closed")
	}
	return c.nc.Close()
}

// quitTimeout bounds the QUIT of Close; hfaxd answers it at once.
const quitTimeout = 2 * time.Second

// do writes the commands in one write, then reads one reply for each: hfaxd
// executes the lines it has in order and answers each with one reply.
// Replies of any code are returned; the error is about the exchange.
func (c *Conn) do(ctx context.Context, cmds ...command) ([]Reply, error) {
	var b strings.Builder
	for _, cmd := range cmds {
		if err := checkLine(cmd.line); err != nil {
			return nil, fmt.Errorf("%s: %w", cmd.name, err)
		}
		b.WriteString(cmd.line)
		b.WriteString("\r\n")
	}
	reps := make([]Reply, 0, len(cmds))
	name := cmds[0].name
	err := c.guard(ctx, name, func(time.Time) error {
		if _, err := c.nc.Write([]byte(b.String())); err != nil {
			return err
		}
		for _, cmd := range cmds {
			name = cmd.name
			rep, err := c.rd.ReadReply()
			if err != nil {
				return err
			}
			if rep.Code < 200 {
				return fmt.Errorf("%w: unexpected reply %s", ErrProtocol, quoteLine(rep.String()))
			}
			reps = append(reps, rep)
			if rep.Code == 421 { // hfaxd closes the connection after it
				c.broken = replyError(cmd.name, rep)
				return fmt.Errorf("%w: %w", ErrUnavailable, c.broken)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reps, nil
}

// do1 is do for one command.
func (c *Conn) do1(ctx context.Context, cmd command) (Reply, error) {
	reps, err := c.do(ctx, cmd)
	if err != nil {
		return Reply{}, err
	}
	return reps[0], nil
}

// expect runs cmd and returns a *ReplyError unless its reply has code want.
func (c *Conn) expect(ctx context.Context, cmd command, want int) error {
	rep, err := c.do1(ctx, cmd)
	if err != nil {
		return err
	}
	if rep.Code != want {
		return replyError(cmd.name, rep)
	}
	return nil
}

// guard runs fn, an exchange on the control connection, under the
// session's deadline and ctx; fn gets the deadline for connections of its
// own. A *ReplyError from fn is returned as it is: the session stays in
// step. Any other error breaks the session; it is returned wrapping
// ErrOutcomeUnknown (fn may have sent a command) and, when ctx ended,
// ctx's error.
func (c *Conn) guard(ctx context.Context, name string, fn func(deadline time.Time) error) error {
	if c.broken != nil {
		return fmt.Errorf("hfaxd: %s: session unusable: %w", name, c.broken)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("hfaxd: %s: %w", name, err)
	}
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.nc.SetDeadline(deadline)
	err := withCancel(ctx, c.nc, func() error { return fn(deadline) })
	var re *ReplyError
	if err == nil || errors.As(err, &re) && c.broken == nil {
		return err
	}
	if c.broken == nil {
		c.broken = err
	}
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	cerr := ctx.Err()
	if d, ok := ctx.Deadline(); cerr == nil && ok && !d.After(deadline) && !time.Now().Before(d) {
		cerr = context.DeadlineExceeded // the read timed out first
	}
	if cerr != nil {
		return fmt.Errorf("%w: %s: %w", ErrOutcomeUnknown, name, cerr)
	}
	return fmt.Errorf("%w: %s: %w", ErrOutcomeUnknown, name, err)
}

// quote returns s as one quoted argument of hfaxd's command parser:
// between double quotes, with '"' and '\' escaped by a backslash. It
// refuses what does not belong in a protocol line or in the qfile hfaxd
// writes the value to: invalid UTF-8 and control characters (CR, LF,
// NUL, ...).
func quote(what, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: %s is not valid UTF-8", ErrArgument, what)
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		return "", fmt.Errorf("%w: %s contains the control character %U", ErrArgument, what, []rune(s[i:])[0])
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String(), nil
}

// checkLine refuses a command line that hfaxd would not read as one
// line: control characters (quote keeps them out of arguments; this
// also guards the fixed parts) or more than MaxCommandLine bytes.
func checkLine(line string) error {
	if len(line) > MaxCommandLine {
		return fmt.Errorf("%w: command line of %d bytes, hfaxd takes %d", ErrArgument, len(line), MaxCommandLine)
	}
	if strings.IndexFunc(line, unicode.IsControl) >= 0 || !utf8.ValidString(line) {
		return fmt.Errorf("%w: control character or invalid UTF-8 in command line", ErrArgument)
	}
	return nil
}

// withCancel runs fn while ctx ending sets conn's deadline to the past,
// which makes fn's blocked reads and writes return. It returns once that
// can no longer happen.
func withCancel(ctx context.Context, conn net.Conn, fn func() error) error {
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		conn.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	err := fn()
	if !stop() {
		<-fired
	}
	return err
}
