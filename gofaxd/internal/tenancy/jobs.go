package tenancy

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
)

// JobSeen is the payload of KindJob: a HylaFAX job gofaxd found in
// sendq (a fax to record if it is not yet, and later its archived
// document) or in doneq (its end, when faxq's notice did not tell it).
type JobSeen struct {
	Job   gofaxlib.JobRef `json:"job"`
	Queue string          `json:"queue"` // "sendq" or "doneq"
	// Status is queued for a job in sendq, sending for one whose call
	// gofaxsend is making (Attempt), delivered or failed (the qfile's
	// state) for one in doneq.
	Status gofaxlib.FaxStatus `json:"status"`
	// Attempt is the call that started (1 = the first), for sending.
	Attempt int       `json:"attempt,omitempty"`
	Reason  string    `json:"reason,omitempty"` // the qfile's status text
	Done    time.Time `json:"done,omitzero"`    // when faxq finished it
	// PagesSent is the qfile's npages of a finished job.
	PagesSent int `json:"pages_sent,omitempty"`
	// Document is the job's archived document, if it is archived.
	Document *Document `json:"document,omitempty"`
}

// Queues of HylaFAX's spool.
const (
	sendq = "sendq"
	doneq = "doneq"
)

// HylaFAX job states (qfile state:): being sent, and finished.
const (
	stateActive = 6
	stateDone   = 7
	stateFailed = 8
)

// sendNoBatch is the qfile's returned: while the send program runs: faxq
// writes it before it starts the program, which replaces it with its
// result.
const sendNoBatch = 7

// Timing of the queue watcher.
const (
	// settle is how long the watcher lets a qfile's writes settle before
	// it reads it (faxq rewrites it in place).
	settle = 20 * time.Millisecond
	// pokeBuffer bounds the jobs other loops ask the watcher to look at.
	pokeBuffer = 1024
)

// qfileRe matches qfile names: q<job id>.
var qfileRe = regexp.MustCompile(`^q([1-9][0-9]{0,9})$`)

// jobs is the queue watcher's state, owned by jobsLoop.
type jobs struct {
	poke  chan int             // job ids to look at (sendq and doneq)
	known map[string]*jobState // by fax id
	due   map[string]time.Time // doneq qfiles ("doneq/q12") to finish, and when
}

// jobState is what the watcher did for one job in this run.
type jobState struct {
	recorded bool // its send.job record is written
	sending  int  // the last attempt whose start is written
	archived bool // its document is archived
	finished bool // its end is written
	seen     bool // found by the running full scan
}

func (j *jobs) init() {
	j.poke = make(chan int, pokeBuffer)
	j.known = map[string]*jobState{}
	j.due = map[string]time.Time{}
}

// pokeJob asks the watcher to look at job id (gofaxsend reported an
// attempt: its document may be prepared now). It never blocks.
func (s *Service) pokeJob(id int) {
	select {
	case s.jobs.poke <- id:
	default:
	}
}

// jobsLoop watches sendq and doneq: through inotify for prompt reactions
// (a job's prepared document exists only while it is sent), with a full
// scan at start and every Refresh.
func (s *Service) jobsLoop(ctx context.Context) {
	var dirs []string
	for _, q := range []string{sendq, doneq} {
		if fi, err := os.Stat(filepath.Join(s.cfg.Spool, q)); err == nil && fi.IsDir() {
			dirs = append(dirs, filepath.Join(s.cfg.Spool, q))
		}
	}
	w := idleWatch()
	if len(dirs) > 0 {
		var err error
		if w, err = watchDirs(dirs...); err != nil {
			s.log.Warn("cannot watch HylaFAX's queues: jobs are found by the scan every refresh only", "err", err)
			w = idleWatch()
		}
	}
	defer w.Close()
	s.scanQueues(ctx)
	scan := time.NewTicker(s.cfg.Refresh)
	defer scan.Stop()
	dirty := map[string]bool{}
	var settled <-chan time.Time
	events := w.C
	for {
		var due <-chan time.Time
		var dueTimer *time.Timer
		if next, ok := s.nextDue(); ok {
			dueTimer = time.NewTimer(max(time.Until(next), 0))
			due = dueTimer.C
		}
		select {
		case <-ctx.Done():
		case ch, ok := <-events:
			if !ok {
				events = nil
				break
			}
			if qfileRe.MatchString(ch.name) {
				dirty[filepath.Base(ch.dir)+"/"+ch.name] = true
				if settled == nil {
					settled = time.After(settle)
				}
			}
		case id := <-s.jobs.poke:
			for _, q := range []string{sendq, doneq} {
				dirty[q+"/q"+strconv.Itoa(id)] = true
			}
			if settled == nil {
				settled = time.After(settle)
			}
		case <-settled:
			settled = nil
			for key := range dirty {
				q, name, _ := strings.Cut(key, "/")
				s.lookAt(ctx, q, name)
			}
			clear(dirty)
		case <-scan.C:
			s.scanQueues(ctx)
		case <-due:
			s.finishDue(ctx)
		}
		if dueTimer != nil {
			dueTimer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// scanQueues looks at every job in sendq and doneq, and forgets jobs
// that left both.
func (s *Service) scanQueues(ctx context.Context) {
	for _, st := range s.jobs.known {
		st.seen = false
	}
	for _, q := range []string{sendq, doneq} {
		des, err := os.ReadDir(filepath.Join(s.cfg.Spool, q))
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				s.log.Warn("cannot read HylaFAX's queue", "queue", q, "err", err)
			}
			continue
		}
		for _, de := range des {
			if ctx.Err() != nil {
				return
			}
			if qfileRe.MatchString(de.Name()) {
				if st := s.lookAt(ctx, q, de.Name()); st != nil {
					st.seen = true
				}
			}
		}
	}
	for id, st := range s.jobs.known {
		if !st.seen {
			delete(s.jobs.known, id)
		}
	}
}

// readQfile reads a qfile without locking it (faxq and gofaxsend hold
// their locks for long; a torn read is read again at the next change).
func readQfile(path string) (*hylafax.Qfile, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, hylafax.MaxQfileSize+1))
	if err != nil {
		return nil, nil, err
	}
	q, err := hylafax.ParseQfile(path, b)
	return q, fi, err
}

// lookAt records what the qfile queue/name says: a job in sendq is
// recorded, and its document archived once faxq prepared it; a job in
// doneq is finished after doneGrace. It returns the job's state, nil
// when the qfile is gone or not (yet) readable.
func (s *Service) lookAt(ctx context.Context, queue, name string) *jobState {
	m := qfileRe.FindStringSubmatch(name)
	if m == nil {
		return nil
	}
	id, _ := strconv.Atoi(m[1])
	path := filepath.Join(s.cfg.Spool, queue, name)
	q, fi, err := readQfile(path)
	if err != nil || q.Int("jobid") != id {
		return nil // gone, moved, or read while being written
	}
	ref := s.jobRef(q, id)
	st := s.jobs.known[ref.FaxID]
	if st == nil {
		st = &jobState{}
		s.jobs.known[ref.FaxID] = st
	}
	switch queue {
	case sendq:
		if !st.recorded {
			st.recorded = s.writeJob("job."+ref.FaxID, JobSeen{Job: ref, Queue: sendq, Status: gofaxlib.StatusQueued})
		}
		if n, ok := callStarted(q); ok && n > st.sending {
			if s.writeJob("job."+ref.FaxID+".sending."+strconv.Itoa(n), JobSeen{Job: ref, Queue: sendq,
				Status: gofaxlib.StatusSending, Attempt: n}) {
				st.sending = n
			}
		}
		if !st.archived && len(q.FaxItems()) > 0 {
			doc, err := s.archiveJob(ref.FaxID, q, false)
			if err != nil {
				s.log.Warn("document of a job not archived", "job_id", id, "fax_id", ref.FaxID, "err", err)
				break
			}
			st.archived = s.writeJob("job."+ref.FaxID+".doc", JobSeen{Job: ref, Queue: sendq, Status: gofaxlib.StatusQueued, Document: doc})
		}
	case doneq:
		if st.finished {
			break
		}
		if state := q.Int("state"); state != stateDone && state != stateFailed {
			break
		}
		key := doneq + "/" + name
		if _, ok := s.jobs.due[key]; !ok {
			s.jobs.due[key] = fi.ModTime().Add(s.grace)
		}
	}
	return st
}

// callStarted reports whether gofaxsend is making a call for the job of
// q, and which (1 = the first): faxq has started the send program (state
// active, returned still send_nobatch) and gofaxsend has counted the dial
// (status "Dialing", then "Sending ..." once answered, with totdials
// counting this call). faxq's own write before the program starts keeps
// the status of the last attempt, and is not taken for a call.
func callStarted(q *hylafax.Qfile) (int, bool) {
	if q.Int("state") != stateActive || q.Int("returned") != sendNoBatch {
		return 0, false
	}
	st := q.String("status")
	if !strings.HasPrefix(st, "Dialing") && !strings.HasPrefix(st, "Sending") {
		return 0, false
	}
	n := q.Int("totdials")
	return n, n > 0
}

// nextDue returns the earliest time a doneq job is to be finished.
func (s *Service) nextDue() (time.Time, bool) {
	var next time.Time
	for _, t := range s.jobs.due {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next, !next.IsZero()
}

// finishDue writes the end of the doneq jobs whose grace is over: the
// state faxq left in the qfile, and the documents as submitted when
// their prepared form was not archived. A notice from faxq's NotifyCmd,
// ingested before, has already made the fax final; this changes
// nothing then.
func (s *Service) finishDue(ctx context.Context) {
	now := time.Now()
	for key, at := range s.jobs.due {
		if at.After(now) || ctx.Err() != nil {
			continue
		}
		delete(s.jobs.due, key)
		queue, name, _ := strings.Cut(key, "/")
		id, _ := strconv.Atoi(strings.TrimPrefix(name, "q"))
		q, fi, err := readQfile(filepath.Join(s.cfg.Spool, queue, name))
		if err != nil || q.Int("jobid") != id {
			continue
		}
		ref := s.jobRef(q, id)
		st := s.jobs.known[ref.FaxID]
		if st == nil {
			st = &jobState{seen: true}
			s.jobs.known[ref.FaxID] = st
		}
		if st.finished {
			continue
		}
		js := JobSeen{Job: ref, Queue: doneq, Status: gofaxlib.StatusDelivered, Done: fi.ModTime().UTC(), PagesSent: q.Int("npages")}
		if tts := q.Int("tts"); tts > 0 {
			js.Done = time.Unix(int64(tts), 0).UTC()
		}
		if q.Int("state") != stateDone {
			js.Status, js.Reason = gofaxlib.StatusFailed, q.Status()
		}
		if !st.archived {
			doc, err := s.archiveJob(ref.FaxID, q, true)
			switch {
			case err == nil:
				js.Document = doc
			case errors.Is(err, errNothingToArchive):
				s.log.Info("document of a finished job not archived", "job_id", id, "fax_id", ref.FaxID, "why", err)
			default:
				s.log.Warn("document of a finished job not archived", "job_id", id, "fax_id", ref.FaxID, "err", err)
			}
		}
		st.finished = s.writeJob("job."+ref.FaxID+".done", js)
		st.archived = st.archived || js.Document != nil && st.finished
	}
}

// writeJob writes a send.job record with a fixed id (a job found again
// after a restart is not ingested twice). It reports success.
func (s *Service) writeJob(id string, js JobSeen) bool {
	rec, err := journal.NewRecord(KindJob, js)
	if err == nil {
		rec.ID = id
		err = s.j.Write(rec)
	}
	if err != nil {
		s.log.Error("job not journaled: tried again at the next scan", "job_id", js.Job.JobID, "err", err)
		return false
	}
	return true
}

// uuidRe matches a fax id as the REST API sets it as a job's user key.
var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// jobRef describes the job of qfile q: its fax id is the job's user key
// (qfile jobtag) when that is a fax id (a lower-case UUID, as the REST
// API sets it), else gofaxlib.JobFaxID of the spool and job id, as
// gofaxsend computes it; the owner's tenant comes from the routing
// (none for an owner who is no tenant user); the numbers are E.164 where
// they are valid numbers.
func (s *Service) jobRef(q *hylafax.Qfile, id int) gofaxlib.JobRef {
	ref := gofaxlib.JobRef{Host: s.cfg.Host, JobID: id, Owner: q.String("owner"), PagesTotal: q.Int("totpages")}
	if key := q.String("jobtag"); uuidRe.MatchString(key) {
		ref.FaxID = key
	} else {
		ref.FaxID = gofaxlib.JobFaxID(s.spoolID, id)
	}
	to := q.String("external")
	if to == "" {
		to = q.String("number")
	}
	ref.To = s.number(to)
	if from := q.String("faxnumber"); from != "" {
		ref.From = s.number(from)
	}
	if r := s.routing.Load(); r != nil {
		if _, t, ok := r.User(ref.Owner); ok {
			ref.TenantID = t.ID
		}
	}
	return ref
}
