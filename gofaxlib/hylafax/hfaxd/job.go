package hfaxd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// State is a job's state as faxq keeps it (the qfile's "state:").
type State int

// Job states, numbered as in the qfile.
const (
	StateUndefined State = iota
	StateSuspended       // created, not submitted (or suspended)
	StatePending         // waiting for its time to send
	StateSleeping        // waiting for a retry
	StateBlocked         // blocked by other calls to the destination
	StateReady           // waiting for a modem
	StateActive          // being sent
	StateDone            // sent
	StateFailed          // given up
)

// stateNames are the names of a bare JPARM's STATE line, by State.
var stateNames = [...]string{"UNDEFINED", "SUSPENDED", "PENDING", "SLEEPING", "BLOCKED", "READY", "ACTIVE", "DONE", "FAILED"}

// stateLetters are the letters of JOBFMT's %a (as faxstat shows them).
const stateLetters = "?TPSBWRDF"

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "State(" + strconv.Itoa(int(s)) + ")"
	}
	return strings.ToLower(stateNames[s])
}

// Final reports whether faxq is finished with the job: done or failed.
func (s State) Final() bool { return s == StateDone || s == StateFailed }

// Notify says when faxq's notify script mails the job's NotifyAddr.
type Notify string

// Values of JobSpec.Notify (hfaxd's JPARM NOTIFY).
const (
	NotifyNone          Notify = "NONE"
	NotifyDone          Notify = "DONE"
	NotifyRequeue       Notify = "REQUEUE"
	NotifyDoneOrRequeue Notify = "DONE+REQUEUE"
)

// Param is one job parameter as JPARM names it ("TSI", "TOUSER", ...).
type Param struct {
	Name, Value string
}

// JobSpec describes a job for Submit. Zero values leave hfaxd's default.
type JobSpec struct {
	// Number is dialled (DIALSTRING); required.
	Number string
	// External is the number as shown (EXTERNAL: faxstat, xferfaxlog);
	// hfaxd takes Number when empty.
	External string
	// Owner owns the job (OWNER); setting another user than the one
	// logged in needs administrator rights.
	Owner string
	// UserKey is the caller's key of the job (USRKEY, the qfile's
	// jobtag), by which JobsByUserKey finds it.
	UserKey string
	// FaxNumber is the sender's number (FAXNUMBER, the caller id).
	FaxNumber string
	// NotifyAddr is the mail address of faxq's notify (NOTIFYADDR).
	NotifyAddr string
	// Notify says when to mail NotifyAddr (NOTIFY).
	Notify Notify
	// SendAt is when to send (SENDTIME, to the minute); zero: now.
	SendAt time.Time
	// KillAfter is how long after SendAt (or now) faxq keeps trying
	// (LASTTIME, to the minute, at most 99 days 23:59); zero means
	// DefaultKillAfter. It is always sent: a job without LASTTIME gets
	// hfaxd's default 3 h as an absolute time (1970), and faxq times it
	// out at once.
	KillAfter time.Duration
	// MaxDials and MaxTries bound the calls placed and the calls
	// answered (MAXDIALS, MAXTRIES; hfaxd: 12 and 3); at most 65535.
	MaxDials, MaxTries int
	// TagLine is the page header (TAGLINE, with USETAGLINE YES).
	TagLine string
	// Modem is the modem or modem group to send through (MODEM);
	// hfaxd's default is "any". faxq rejects a job naming a modem it
	// does not know.
	Modem string
	// Documents are the files to send, in order, as Upload named them.
	Documents []string
	// Params are further job parameters, set after the ones above.
	Params []Param
}

// DefaultKillAfter is the LASTTIME of a JobSpec without KillAfter: what
// sendfax sends by default.
const DefaultKillAfter = 3 * time.Hour

// maxKillAfter is the largest LASTTIME hfaxd takes: "DDHHMM".
const maxKillAfter = 99*24*time.Hour + 23*time.Hour + 59*time.Minute

var paramName = regexp.MustCompile(`^[A-Z]{2,16}$`)

// params returns the JPARM commands of spec, in the order hfaxd needs
// them (SENDTIME before LASTTIME, which counts from it).
func (spec JobSpec) params() ([]command, error) {
	if spec.Number == "" {
		return nil, fmt.Errorf("%w: job without number", ErrArgument)
	}
	if len(spec.Documents) == 0 {
		return nil, fmt.Errorf("%w: job without documents", ErrArgument)
	}
	var ps []Param
	add := func(name, value string) { ps = append(ps, Param{name, value}) }
	add("DIALSTRING", spec.Number)
	for _, p := range []Param{{"EXTERNAL", spec.External}, {"OWNER", spec.Owner}, {"USRKEY", spec.UserKey},
		{"FAXNUMBER", spec.FaxNumber}, {"NOTIFYADDR", spec.NotifyAddr}, {"NOTIFY", string(spec.Notify)},
		{"MODEM", spec.Modem}} {
		if p.Value != "" {
			ps = append(ps, p)
		}
	}
	switch spec.Notify {
	case "", NotifyNone, NotifyDone, NotifyRequeue, NotifyDoneOrRequeue:
	default:
		return nil, fmt.Errorf("%w: notify %q", ErrArgument, spec.Notify)
	}
	if !spec.SendAt.IsZero() {
		add("SENDTIME", spec.SendAt.UTC().Format("200601021504"))
	}
	kill := spec.KillAfter
	if kill == 0 {
		kill = DefaultKillAfter
	}
	if kill < 0 || kill > maxKillAfter {
		return nil, fmt.Errorf("%w: kill after %v, hfaxd takes up to %v", ErrArgument, kill, maxKillAfter)
	}
	m := int((kill + time.Minute - 1) / time.Minute) // whole minutes, rounded up
	add("LASTTIME", fmt.Sprintf("%02d%02d%02d", m/(24*60), m/60%24, m%60))
	for _, n := range []struct {
		name string
		v    int
	}{{"MAXDIALS", spec.MaxDials}, {"MAXTRIES", spec.MaxTries}} {
		if n.v < 0 || n.v > 65535 {
			return nil, fmt.Errorf("%w: %s %d", ErrArgument, n.name, n.v)
		}
		if n.v > 0 {
			add(n.name, strconv.Itoa(n.v))
		}
	}
	if spec.TagLine != "" {
		add("TAGLINE", spec.TagLine)
		add("USETAGLINE", "YES")
	}
	for _, d := range spec.Documents {
		add("DOCUMENT", d)
	}
	ps = append(ps, spec.Params...)
	cmds := make([]command, 0, len(ps))
	for _, p := range ps {
		cmd, err := jparm(p)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, cmd)
	}
	return cmds, nil
}

// jparm returns the command setting p on the current job.
func jparm(p Param) (command, error) {
	if !paramName.MatchString(p.Name) {
		return command{}, fmt.Errorf("%w: job parameter name %q", ErrArgument, p.Name)
	}
	v, err := quote(p.Name, p.Value)
	if err != nil {
		return command{}, err
	}
	name := "JPARM " + p.Name
	line := name + " " + v
	if err := checkLine(line); err != nil {
		return command{}, fmt.Errorf("%s: %w", name, err)
	}
	return command{name, line}, nil
}

var jobIDRE = regexp.MustCompile(`^[0-9]{1,10}$`)

func checkJobID(id string) error {
	if !jobIDRE.MatchString(id) {
		return fmt.Errorf("%w: job id %q", ErrArgument, id)
	}
	return nil
}

// Submit creates a job (JNEW, inheriting nothing: the default job is
// made current first), sets its parameters (JPARM) and documents, and
// submits it (JSUBM); then it removes the uploaded files it added (the
// job keeps its own links). It returns the job id.
//
// When anything fails before JSUBM the job is deleted again and the id
// is "". When JSUBM fails, the id is returned with the error: faxq may
// have rejected the job (it is then in doneq, failed), and with
// ErrOutcomeUnknown it may have been submitted: look for it with
// JobsByUserKey.
func (c *Conn) Submit(ctx context.Context, spec JobSpec) (string, error) {
	cmds, err := spec.params()
	if err != nil {
		return "", err
	}
	var id string
	for try := 1; ; try++ {
		if id, err = c.NewJob(ctx); err != nil {
			return "", err
		}
		if err := c.setParams(ctx, cmds); err != nil {
			if c.broken == nil {
				c.DeleteJob(ctx, id)
			}
			return "", err
		}
		err = c.SubmitJob(ctx, id)
		if err == nil {
			break
		}
		if try >= lostParamsTries || !lostParams(err) || c.broken != nil {
			return id, err
		}
		// hfaxd reread the new job's qfile and lost the parameters set
		// (see lostParams): the job is ours and not submitted; make it
		// again.
		if derr := c.DeleteJob(ctx, id); derr != nil {
			return id, err
		}
	}
	// The session keeps the job in memory as it created it, suspended,
	// and reloads it only when the qfile's modification time is a later
	// second than its own: faxq's writes in the same second would go
	// unseen. JREST rereads a job hfaxd holds as suspended. The uploaded
	// files go too (best effort: hfaxd removes them when the session
	// ends anyway).
	tidy := []command{{"JREST", "JREST " + id}}
	for _, d := range spec.Documents {
		if a, err := quote("file name", d); err == nil {
			tidy = append(tidy, command{"DELE", "DELE " + a})
		}
	}
	c.do(ctx, tidy...)
	return id, nil
}

// lostParamsTries bounds making a job again after hfaxd lost its
// parameters.
const lostParamsTries = 3

// lostParams reports JSUBM refused for a job without number although
// Submit set one (DIALSTRING is always its first parameter): hfaxd keeps
// a new job in memory and rereads its qfile when the file's modification
// time is a later second than the one it noted; when the qfile JNEW wrote
// is dated a second later than that (JNEW at a second's end, on a busy
// machine), the reread drops every parameter set so far. Seen about once
// in 200 submissions from concurrent sessions (hfaxd 6.0.7), sendfax's
// too.
func lostParams(err error) bool {
	var re *ReplyError
	return errors.As(err, &re) && re.Command == "JSUBM" && re.Code == 504 && strings.Contains(re.Text, "missing DIALSTRING")
}

var newJobRE = regexp.MustCompile(`jobid: ([0-9]+)`)

// seqfRaceTries bounds JNEW when hfaxd refuses it for want of its
// sequence number file: two sessions making the first job of a spool
// create sendq/seqf at once, and the one that loses gets "503 Unable to
// open sequence number file sendq/seqf; File exists."; the file exists
// then, and JNEW again succeeds.
const seqfRaceTries = 3

// NewJob creates a job (JNEW) with hfaxd's defaults and makes it the
// current job of the session; it returns its id. Until it is submitted
// the job is "suspended"; hfaxd deletes it when the session ends.
func (c *Conn) NewJob(ctx context.Context) (string, error) {
	var reps []Reply
	for try := 1; ; try++ {
		// JNEW inherits the current job's parameters: start from the
		// default job, which this package never changes.
		var err error
		reps, err = c.do(ctx, command{"JOB", "JOB default"}, command{"JNEW", "JNEW"})
		if err != nil {
			return "", err
		}
		if reps[0].Code != 200 {
			return "", replyError("JOB", reps[0])
		}
		if reps[1].Code == 200 {
			break
		}
		if try >= seqfRaceTries || !strings.Contains(reps[1].Text(), "sequence number file") ||
			!strings.Contains(reps[1].Text(), "File exists") {
			return "", replyError("JNEW", reps[1])
		}
	}
	m := newJobRE.FindStringSubmatch(reps[1].Text())
	if m == nil {
		c.broken = fmt.Errorf("%w: JNEW reply without job id: %s", ErrProtocol, quoteLine(reps[1].Text()))
		return "", c.broken
	}
	return m[1], nil
}

// SetJobParams sets parameters of the current job (JPARM), all sent at
// once; it returns the first refusal.
func (c *Conn) SetJobParams(ctx context.Context, params ...Param) error {
	cmds := make([]command, 0, len(params))
	for _, p := range params {
		cmd, err := jparm(p)
		if err != nil {
			return err
		}
		cmds = append(cmds, cmd)
	}
	return c.setParams(ctx, cmds)
}

func (c *Conn) setParams(ctx context.Context, cmds []command) error {
	if len(cmds) == 0 {
		return nil
	}
	reps, err := c.do(ctx, cmds...)
	if err != nil {
		return err
	}
	for i, rep := range reps {
		// 213 for a parameter, 200 for a document added.
		if rep.Code != 213 && rep.Code != 200 {
			return replyError(cmds[i].name, rep)
		}
	}
	return nil
}

// SubmitJob submits job id (JSUBM) to faxq.
func (c *Conn) SubmitJob(ctx context.Context, id string) error {
	if err := checkJobID(id); err != nil {
		return err
	}
	return c.expect(ctx, command{"JSUBM", "JSUBM " + id}, 200)
}

// KillJob kills job id (JKILL): faxq stops it (hanging up a call in
// progress) and moves it to doneq as failed. A job already finished is
// ErrJobDone, one that does not exist ErrNoJob.
func (c *Conn) KillJob(ctx context.Context, id string) error {
	if err := checkJobID(id); err != nil {
		return err
	}
	return c.expect(ctx, command{"JKILL", "JKILL " + id}, 200)
}

// DeleteJob removes job id and its documents (JDELE); hfaxd allows that
// for jobs not submitted yet (suspended) and for finished ones.
func (c *Conn) DeleteJob(ctx context.Context, id string) error {
	if err := checkJobID(id); err != nil {
		return err
	}
	return c.expect(ctx, command{"JDELE", "JDELE " + id}, 200)
}

// JobStatus is what hfaxd reports of a job.
type JobStatus struct {
	ID    string
	State State
	// Status is the result of the last attempt as faxq or the send
	// program wrote it; empty when there is none (yet).
	Status     string
	StatusCode int
	// Pages sent so far, of TotalPages (known once faxq prepared the
	// documents).
	Pages, TotalPages int
	// Dials is the number of calls placed, Tries the number of calls
	// answered, each with its limit.
	Dials, MaxDials, Tries, MaxTries                   int
	Owner, UserKey, Number, External, FaxNumber, Modem string
	// CommID is the session log of the last attempt, "000000042".
	CommID string
	// SendAt is when the job is (or was) due; zero for "now".
	SendAt time.Time
	// Params holds every "NAME: value" hfaxd reported, documents
	// ("DOCUMENT") one a line.
	Params map[string]string
}

// statusTries bounds how often JobStatus asks again for a job that moved
// between its commands (from sendq to doneq); it moves once.
const statusTries = 3

// JobStatus returns the state of job id (in sendq or doneq): one JOB and
// one bare JPARM, which reports every parameter at once.
func (c *Conn) JobStatus(ctx context.Context, id string) (JobStatus, error) {
	if err := checkJobID(id); err != nil {
		return JobStatus{}, err
	}
	for range statusTries {
		if err := c.expect(ctx, command{"JOB", "JOB " + id}, 200); err != nil {
			return JobStatus{}, err
		}
		// A bare JPARM gives no reply at all when the job moved to doneq
		// since JOB found it: a NOOP sent along tells.
		var state Reply
		err := c.guard(ctx, "JPARM", func(time.Time) error {
			if _, err := c.nc.Write([]byte("JPARM\r\nNOOP\r\n")); err != nil {
				return err
			}
			rep, err := c.rd.ReadReply()
			if err != nil || rep.Code == 200 { // NOOP's: JPARM said nothing
				return err
			}
			state = rep
			if rep, err = c.rd.ReadReply(); err != nil {
				return err
			}
			if rep.Code != 200 {
				return fmt.Errorf("%w: NOOP reply %s", ErrProtocol, quoteLine(rep.String()))
			}
			return nil
		})
		switch {
		case err != nil:
			return JobStatus{}, err
		case state.Code == 217:
			return jobStatus(id, state)
		case state.Code != 0:
			return JobStatus{}, replyError("JPARM", state)
		}
	}
	return JobStatus{}, fmt.Errorf("%w: job %s moved between queries %d times", ErrNoJob, id, statusTries)
}

// jobStatus reads the reply of a bare JPARM.
func jobStatus(id string, rep Reply) (JobStatus, error) {
	m := parseJobState(rep)
	if m["JOBID"] != id {
		return JobStatus{}, fmt.Errorf("%w: state of job %q, asked for %s", ErrProtocol, m["JOBID"], id)
	}
	st := JobStatus{ID: id, Params: m, Status: m["STATUS"],
		Owner: m["OWNER"], UserKey: m["USRKEY"], Number: m["DIALSTRING"], External: m["EXTERNAL"],
		FaxNumber: m["FAXNUMBER"], Modem: m["MODEM"], CommID: m["COMMID"]}
	for i, n := range stateNames {
		if m["STATE"] == n {
			st.State = State(i)
		}
	}
	for _, f := range []struct {
		p    *int
		name string
	}{{&st.StatusCode, "STATUSCODE"}, {&st.Pages, "NPAGES"}, {&st.TotalPages, "TOTPAGES"},
		{&st.Dials, "TOTDIALS"}, {&st.MaxDials, "MAXDIALS"}, {&st.Tries, "TOTTRIES"}, {&st.MaxTries, "MAXTRIES"}} {
		*f.p, _ = strconv.Atoi(m[f.name])
	}
	if t, err := time.Parse("20060102150405", m["SENDTIME"]); err == nil {
		st.SendAt = t
	}
	return st, nil
}

// JobRef names a job found in a queue listing.
type JobRef struct {
	ID    string
	State State
	// Done is true for a job in doneq.
	Done bool
}

// jobFormat is the JOBFMT of JobsByUserKey: job id, state letter, and
// the user key last, so that it may hold the separator.
const jobFormat = "%j|%a|%J"

// JobsByUserKey returns the jobs in sendq and doneq whose user key
// (JobSpec.UserKey) is key, ordered by id; none is not an error. It lists
// both queues (LIST with a JOBFMT of its own), so its cost grows with
// their length: it is for finding a job again after a crash between
// JNEW and the reply to JSUBM. A job moving from sendq to doneq
// meanwhile is found once, as done.
func (c *Conn) JobsByUserKey(ctx context.Context, key string) ([]JobRef, error) {
	if key == "" {
		return nil, fmt.Errorf("%w: empty user key", ErrArgument)
	}
	if _, err := quote("user key", key); err != nil {
		return nil, err
	}
	if err := c.expect(ctx, command{"JOBFMT", `JOBFMT "` + jobFormat + `"`}, 200); err != nil {
		return nil, err
	}
	found := map[string]JobRef{}
	for _, q := range []string{"sendq", "doneq"} {
		lines, err := c.list(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			ref, k, ok := parseJobLine(l)
			if ok && k == key {
				ref.Done = q == "doneq"
				found[ref.ID] = ref
			}
		}
	}
	refs := make([]JobRef, 0, len(found))
	for _, r := range found {
		refs = append(refs, r)
	}
	slices.SortFunc(refs, func(a, b JobRef) int {
		return cmp.Or(cmp.Compare(len(a.ID), len(b.ID)), cmp.Compare(a.ID, b.ID))
	})
	return refs, nil
}

// parseJobLine reads a listing line in jobFormat.
func parseJobLine(l string) (JobRef, string, bool) {
	id, rest, ok1 := strings.Cut(l, "|")
	letter, key, ok2 := strings.Cut(rest, "|")
	if !ok1 || !ok2 || checkJobID(id) != nil || len(letter) != 1 {
		return JobRef{}, "", false
	}
	st := strings.IndexByte(stateLetters, letter[0])
	if st < 0 {
		st = 0
	}
	return JobRef{ID: id, State: State(st)}, key, true
}
