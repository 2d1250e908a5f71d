package tenancy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// errAny stands for any error in the table below.
var errAny = errors.New("any error")

// TestFindJob: only a qfile that does not exist counts as a job gone
// from the queues; one that cannot be read, or is read while faxq
// rewrites it, is unknown (an error), never missing.
func TestFindJob(t *testing.T) {
	t.Parallel()
	spool := newSpool(t)
	s := &Service{cfg: Config{Spool: spool, Plan: planDE}, spoolID: "spool-test"}
	const id = 31
	faxID := gofaxlib.JobFaxID(s.spoolID, id)
	qpath := func(q string) string { return filepath.Join(spool, q, "q31") }
	tests := []struct {
		name    string
		setup   func(t *testing.T)
		want    string
		wantErr error
	}{
		{name: "in sendq", setup: func(t *testing.T) {
			writeQfile(t, spool, "tiff-send.q", sendq, id, map[string]string{"jobid": "31", "owner": "alice"})
		}, want: sendq},
		{name: "in doneq", setup: func(t *testing.T) {
			writeQfile(t, spool, "tiff-doneq.q", doneq, id, map[string]string{"jobid": "31", "owner": "alice"})
		}, want: doneq},
		{name: "in neither", setup: func(t *testing.T) {}, want: ""},
		{name: "another job of that id", setup: func(t *testing.T) {
			writeQfile(t, spool, "tiff-send.q", sendq, id, map[string]string{"jobid": "31", "owner": "alice",
				"jobtag": "00000000-0000-4000-8000-000000000031"})
		}, want: ""},
		{name: "unreadable qfile", setup: func(t *testing.T) {
			// A directory where the qfile is: open works, reading fails
			// (EISDIR), whatever the test's user may read.
			if err := os.Mkdir(qpath(sendq), 0o755); err != nil {
				t.Fatal(err)
			}
		}, wantErr: errAny},
		{name: "qfile being rewritten", setup: func(t *testing.T) {
			if err := os.WriteFile(qpath(sendq), []byte("tts:0\nkilltime:"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, wantErr: errTornQfile},
		{name: "unreadable in sendq, found in doneq", setup: func(t *testing.T) {
			if err := os.Mkdir(qpath(sendq), 0o755); err != nil {
				t.Fatal(err)
			}
			writeQfile(t, spool, "tiff-doneq.q", doneq, id, map[string]string{"jobid": "31", "owner": "alice"})
		}, want: doneq},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, q := range []string{sendq, doneq} {
				if err := os.RemoveAll(qpath(q)); err != nil {
					t.Fatal(err)
				}
			}
			tc.setup(t)
			got, err := s.findJob(faxID, id)
			if got != tc.want || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("findJob = %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
			if tc.wantErr == errTornQfile && !errors.Is(err, errTornQfile) {
				t.Errorf("error %v is not errTornQfile", err)
			}
		})
	}
}
