package gofaxlib

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Journal record kinds that the per-job processes (gofaxsend and its
// NotifyCmd mode) write for gofaxd, which ingests them into the tenant
// store. The payloads are SendAttempt and JobNotice.
const (
	RecordSendAttempt = "send.attempt"
	RecordJobNotice   = "send.notice"
)

// JobRef names a HylaFAX send job and what the tenant store needs to file
// it: the fax it belongs to, its owner and tenant, and its numbers.
type JobRef struct {
	// FaxID is the job's fax: the job's user key when it is a fax id (jobs
	// submitted through the REST API), else JobFaxID of the spool and job.
	FaxID string `json:"fax_id"`
	Host  string `json:"host"`
	JobID int    `json:"job_id"`
	Owner string `json:"owner"`
	// TenantID is the owner's tenant in the routing snapshot; empty for an
	// owner who is no tenant user (plain HylaFAX use).
	TenantID string `json:"tenant_id,omitempty"`
	// From is the calling number used (E.164 when it is a tenant's), To the
	// destination as E.164 where it normalises, else as in the qfile.
	From       string `json:"from,omitempty"`
	To         string `json:"to"`
	PagesTotal int    `json:"pages_total"`
}

// SendAttempt is one call gofaxsend made for a job.
type SendAttempt struct {
	Job     JobRef  `json:"job"`
	Attempt Attempt `json:"attempt"`
}

// JobNotice is faxq's decision about a job, as its NotifyCmd received it:
// Why is NotifyCmd's reason (done, failed, requeued, killed, …; see
// StatusFromNotify).
type JobNotice struct {
	Job              JobRef    `json:"job"`
	Why              string    `json:"why"`
	Time             time.Time `json:"time"`
	Status           string    `json:"status,omitempty"` // the qfile's status text
	PagesTransferred int       `json:"pages_transferred"`
	Dials            int       `json:"dials"`
	Tries            int       `json:"tries"`
	NextTry          time.Time `json:"next_try"` // zero unless requeued
}

// SpoolIDFile is where a spool's identity lives, relative to the spool.
const SpoolIDFile = "gofax/spool-id"

// ErrSpoolID reports a spool identity file that cannot be used.
var ErrSpoolID = errors.New("gofaxlib: bad spool id")

// JobFaxID is the fax id of a job that was not submitted through the REST
// API: a UUID derived from the spool's identity and the job id, so that
// every process names the same job's fax alike, and a reinstalled spool,
// whose job ids start again, names new faxes.
func JobFaxID(spoolID string, jobID int) string {
	sum := sha256.Sum256([]byte("gofaxserver job\x00" + spoolID + "\x00" + strconv.Itoa(jobID)))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8: vendor-specific
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// SpoolID returns the identity of the spool at dir, creating it the first
// time (32 random hex digits in SpoolIDFile, mode 0644). Concurrent first
// calls from several processes agree: the file is created by linking a
// complete temporary file, so the first link wins and the others read it.
// The directory of the file must exist.
func SpoolID(dir string) (string, error) {
	path := filepath.Join(dir, SpoolIDFile)
	if id, err := readSpoolID(path); !errors.Is(err, os.ErrNotExist) {
		return id, err
	}
	b := make([]byte, 16)
	rand.Read(b)
	id := hex.EncodeToString(b)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".spool-id-*")
	if err != nil {
		return "", fmt.Errorf("gofaxlib: spool id: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(id + "\n")
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("gofaxlib: spool id: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("gofaxlib: spool id: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return readSpoolID(path)
}

// maxSpoolIDFile bounds reading the spool id file: 32 hex digits and a
// newline, with room for an editor's changes.
const maxSpoolIDFile = 128

func readSpoolID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b := make([]byte, maxSpoolIDFile)
	n, err := f.Read(b)
	if err != nil && n == 0 {
		return "", fmt.Errorf("%w: %s: %v", ErrSpoolID, path, err)
	}
	id := strings.TrimSpace(string(b[:n]))
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%w: %s: want 32 lower-case hex digits", ErrSpoolID, path)
	}
	return id, nil
}
