// Package record is what gofaxsend and its NotifyCmd mode keep in the
// spool for gofaxd, which alone talks to the tenant database: they read
// the routing snapshot gofaxd writes (<spool>/gofax/routing.json) and
// append their records (send.attempt, send.notice) to the spool journal
// (<spool>/gofax/journal), each process in its own segment. Both happen
// only when [database] is configured; neither needs a connection or
// credentials.
package record

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
)

// Files in the spool, as gofaxd writes and reads them.
const (
	RoutingFile = "gofax/routing.json"
	JournalDir  = "gofax/journal"
)

// maxRoutingFile bounds reading the snapshot: a generous multiple of what
// tens of thousands of numbers, users and endpoints take as JSON.
const maxRoutingFile = 256 << 20

// ErrRouting wraps every error about the routing snapshot.
var ErrRouting = errors.New("routing snapshot")

// LoadRouting reads the routing snapshot at path.
func LoadRouting(path string) (*gofaxlib.Routing, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRouting, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRoutingFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrRouting, path, err)
	}
	if len(b) > maxRoutingFile {
		return nil, fmt.Errorf("%w: %s: larger than %d MiB", ErrRouting, path, maxRoutingFile>>20)
	}
	var r gofaxlib.Routing
	if err := r.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrRouting, path, err)
	}
	return &r, nil
}

// Host returns the name of this host in the records: [database]
// hostname, else the system's host name.
func Host(cfg *config.Config) string {
	if h := cfg.Database.Hostname; h != "" {
		return h
	}
	h, _ := os.Hostname()
	return h
}

// Recorder appends records to the spool journal. The journal directory
// and the segment are created with the first record. It is safe for
// concurrent use.
type Recorder struct {
	spool string
	name  string // writer name: "gofaxsend", "notify"

	mu      sync.Mutex
	w       *journal.Writer
	spoolID string
}

// NewRecorder returns a Recorder for the journal of spool whose segments
// are named after name (a-z, 0-9, '-').
func NewRecorder(spool, name string) *Recorder {
	return &Recorder{spool: spool, name: name}
}

// Append writes a record of kind with payload v and returns once it is
// durable (or ctx ended: then it may still become durable).
func (r *Recorder) Append(ctx context.Context, kind string, v any) (journal.Record, error) {
	rec, err := journal.NewRecord(kind, v)
	if err != nil {
		return rec, err
	}
	w, err := r.writer()
	if err != nil {
		return rec, err
	}
	return rec, w.Append(ctx, rec)
}

// writer opens the journal writer the first time, creating the journal
// directory (and <spool>/gofax) mode 0700 as gofaxd does when it is
// missing: gofaxd may not have run on this spool yet, and a record must
// not be lost for that.
func (r *Recorder) writer() (*journal.Writer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w != nil {
		return r.w, nil
	}
	dir := filepath.Join(r.spool, JournalDir)
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("record: journal directory: %w", err)
		}
	}
	w, err := journal.OpenWriter(dir, journal.WriterOptions{Name: r.name, SyncInterval: -1})
	if err != nil {
		return nil, err
	}
	r.w = w
	return w, nil
}

// Close closes the journal writer, if one was opened.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w == nil {
		return nil
	}
	err := r.w.Close()
	r.w = nil
	return err
}

// FaxID returns the fax id of job jobid whose qfile jobtag (hfaxd's
// USRKEY) is jobtag: the jobtag itself when it is a UUID, as for jobs
// submitted through the REST API, else gofaxlib.JobFaxID of the spool's
// identity and the job id.
func (r *Recorder) FaxID(jobtag string, jobid int) (string, error) {
	if id, ok := ParseUUID(jobtag); ok {
		return id, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.spoolID == "" {
		if err := os.Mkdir(filepath.Join(r.spool, filepath.Dir(gofaxlib.SpoolIDFile)), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("record: %w", err)
		}
		id, err := gofaxlib.SpoolID(r.spool)
		if err != nil {
			return "", err
		}
		r.spoolID = id
	}
	return gofaxlib.JobFaxID(r.spoolID, jobid), nil
}

// ParseUUID returns s in lower case if it is a UUID in its canonical
// form (8-4-4-4-12 hex digits), surrounding blanks ignored.
func ParseUUID(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != 36 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return "", false
			}
		}
	}
	return s, true
}

// JobID returns the job id of a qfile's jobid field, 0 if it is none.
func JobID(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// E164OrRaw returns number as E.164 when plan can normalise it, else as
// it was given (trimmed).
func E164OrRaw(plan gofaxlib.NumberPlan, number string) string {
	if e, err := plan.E164(number); err == nil {
		return e
	}
	return strings.TrimSpace(number)
}
