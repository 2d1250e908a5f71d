package hylafaxtest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// logTB is a testing.TB whose logs are kept; the rest goes to the test.
type logTB struct {
	testing.TB
	logs []string
}

func (l *logTB) Logf(format string, args ...any) {
	l.logs = append(l.logs, fmt.Sprintf(format, args...))
	l.TB.Logf(format, args...)
}

// TestSubmitDialstringRace: sendfax failing with hfaxd's "null or missing
// DIALSTRING" is run once more, and logged; the jobs the failed run made
// are removed first. Any other failure, or that one twice, fails the test
// (seen through the fake TB's Fatal: here, the runs it saw).
func TestSubmitDialstringRace(t *testing.T) {
	const race = "request id is 7 (group id 7) for host localhost (1 file)\n" +
		"sendfax: Cannot submit job 8; null or missing DIALSTRING parameter.\n"
	const ok = "request id is 9 (group id 9) for host localhost (1 file)\n" +
		"request id is 10 (group id 10) for host localhost (1 file)\n"
	exit1 := errors.New("exit status 1")
	var runs []string
	answers := []struct {
		out string
		err error
	}{{race, exit1}, {"", nil}, {ok, nil}}
	fake := func(path string, args ...string) (string, error) {
		runs = append(runs, path+" "+strings.Join(args, " "))
		a := answers[0]
		answers = answers[1:]
		return a.out, a.err
	}
	tb := &logTB{TB: t}
	ids := submit(tb, fake, "localhost:4559", "-n", "-d", "1", "-d", "2", "doc.tif")
	if !slices.Equal(ids, []string{"9", "10"}) {
		t.Errorf("ids %q, want those of the second run", ids)
	}
	want := []string{
		sendfaxPath + " -h localhost:4559 -n -d 1 -d 2 doc.tif",
		faxrmPath + " -h localhost:4559 7",
		sendfaxPath + " -h localhost:4559 -n -d 1 -d 2 doc.tif",
	}
	if !slices.Equal(runs, want) {
		t.Errorf("runs\n%q\nwant\n%q", runs, want)
	}
	if len(tb.logs) != 1 || !strings.Contains(tb.logs[0], "DIALSTRING") {
		t.Errorf("logged %q, want the refusal once", tb.logs)
	}
}
