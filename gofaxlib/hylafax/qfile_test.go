package hylafax

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/internal/golden"
)

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

// qfileSamples returns every sample qfile: the crafted ones and any real
// ones captured from hfaxd/faxq.
func qfileSamples(t testing.TB) []string {
	var files []string
	for _, pattern := range []string{"testdata/qfiles/*", "testdata/real-qfiles/*"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() && !strings.HasPrefix(filepath.Base(f), ".") {
				files = append(files, f)
			}
		}
	}
	if len(files) == 0 {
		t.Fatal("no sample qfiles")
	}
	return files
}

// rewritten returns the bytes of q with every field formatted anew, as if
// each had been set, to check that formatting alone reproduces the fields.
func rewritten(q *Qfile) []byte {
	c := &Qfile{name: q.name, lines: append([]qline(nil), q.lines...)}
	for i := range c.lines {
		if !c.lines[i].bad {
			c.lines[i].raw = ""
		}
	}
	return c.Bytes()
}

// checkRoundTrip asserts that data survives parse → write unchanged and
// that a fully reformatted file parses to the same fields.
func checkRoundTrip(t *testing.T, name string, data []byte) {
	t.Helper()
	q, err := ParseQfile(name, data)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Bytes(); !bytes.Equal(got, data) {
		t.Fatalf("write of unmodified qfile differs:\n got %q\nwant %q", got, data)
	}
	again, err := ParseQfile(name, q.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Fields(), q.Fields()) {
		t.Fatalf("parse → write → parse changed fields:\n got %+v\nwant %+v", again.Fields(), q.Fields())
	}
	re, err := ParseQfile(name, rewritten(q))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fieldValues(re.Fields()), fieldValues(q.Fields()); !reflect.DeepEqual(got, want) {
		t.Fatalf("reformatted file has other fields:\n got %+v\nwant %+v", got, want)
	}
}

// values drops the line numbers, which reformatting may change.
func fieldValues(fs []Field) []Field {
	out := make([]Field, len(fs))
	for i, f := range fs {
		out[i] = Field{Tag: f.Tag, Value: f.Value}
	}
	return out
}

func TestQfileRoundTrip(t *testing.T) {
	for _, file := range qfileSamples(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			checkRoundTrip(t, file, data)
		})
	}
}

func TestParseQfile(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		fields   []Field
		warnings []int // lines reported
	}{
		{
			name:   "plain",
			in:     "jobid:1\nnumber:5551234\n",
			fields: []Field{{"jobid", "1", 1}, {"number", "5551234", 2}},
		},
		{
			name:   "blanks after colon skipped, tabs and trailing blanks kept",
			in:     "a:   x  \nb:\ty\nc:\n",
			fields: []Field{{"a", "x  ", 1}, {"b", "\ty", 2}, {"c", "", 3}},
		},
		{
			name:   "value with colons",
			in:     "tagline:%%l|%c|Page %%P of %%T\nx:a:b:c\n",
			fields: []Field{{"tagline", "%%l|%c|Page %%P of %%T", 1}, {"x", "a:b:c", 2}},
		},
		{
			name:   "tag is not trimmed",
			in:     " state :5\n",
			fields: []Field{{" state ", "5", 1}},
		},
		{
			name:   "status continuation",
			in:     "status:one\\\ntwo\\\nthree\nreturned:0\n",
			fields: []Field{{"status", "one\\\ntwo\\\nthree", 1}, {"returned", "0", 4}},
		},
		{
			name:   "continuation line looking like a tag",
			in:     "status:x\\\nnumber:123\nnumber:456\n",
			fields: []Field{{"status", "x\\\nnumber:123", 1}, {"number", "456", 3}},
		},
		{
			name:   "continuation stops at an empty line",
			in:     "status:x\\\n\ny:1\n",
			fields: []Field{{"status", "x\\\n", 1}, {"y", "1", 3}},
		},
		{
			name:   "only status continues",
			in:     "comments:x\\\ny:1\n",
			fields: []Field{{"comments", "x\\", 1}, {"y", "1", 2}},
		},
		{
			name:   "blank status does not continue",
			in:     "status:   \ny:1\n",
			fields: []Field{{"status", "", 1}, {"y", "1", 2}},
		},
		{
			name:   "status continued at end of file",
			in:     "status:x\\",
			fields: []Field{{"status", "x\\", 1}},
		},
		{
			name:     "lines without colon are skipped and reported",
			in:       "a:1\nno colon here\n\nb:2\n",
			fields:   []Field{{"a", "1", 1}, {"b", "2", 4}},
			warnings: []int{2, 3},
		},
		{
			name:   "CR kept as faxq keeps it",
			in:     "a:1\r\nstatus:x\\\r\nb:2\r\n",
			fields: []Field{{"a", "1\r", 1}, {"status", "x\\\r", 2}, {"b", "2\r", 3}},
		},
		{
			name:   "no final newline",
			in:     "a:1\nb:2",
			fields: []Field{{"a", "1", 1}, {"b", "2", 2}},
		},
		{name: "empty", in: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := ParseQfile("sendq/q1", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := q.Fields(); !reflect.DeepEqual(got, append([]Field{}, tt.fields...)) {
				t.Errorf("fields\n got %+v\nwant %+v", got, tt.fields)
			}
			var lines []int
			for _, w := range q.Warnings() {
				if w.File != "sendq/q1" {
					t.Errorf("warning without file: %v", w)
				}
				lines = append(lines, w.Line)
			}
			if !reflect.DeepEqual(lines, tt.warnings) {
				t.Errorf("warnings on lines %v, want %v", lines, tt.warnings)
			}
			checkRoundTrip(t, tt.name, []byte(tt.in))
		})
	}
}

func TestParseQfileTooLarge(t *testing.T) {
	_, err := ParseQfile("big", make([]byte, MaxQfileSize+1))
	if !errors.Is(err, ErrQfileTooLarge) {
		t.Fatalf("err = %v, want ErrQfileTooLarge", err)
	}
}

func TestParseErrorMessage(t *testing.T) {
	q, _ := ParseQfile("sendq/q7", []byte("a:1\nbroken\n"))
	if got, want := q.Warnings()[0].Error(), "hylafax: sendq/q7:2: syntax error, missing ':'"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestQfileAccessors(t *testing.T) {
	q, err := ParseQfile("q", []byte("state:6x\ntotdials: 12abc\nndials:-3\nbig:99999999999\nempty:\nword:abc\n"+
		"npages:1\nnpages:2\ndesiredec:\n"))
	if err != nil {
		t.Fatal(err)
	}
	ints := []struct {
		tag  string
		want int
	}{
		{"state", 6}, {"totdials", 12}, {"ndials", -3}, {"big", 1<<31 - 1}, {"empty", 0},
		{"word", 0}, {"missing", 0}, {"npages", 2},
	}
	for _, tt := range ints {
		if got := q.Int(tt.tag); got != tt.want {
			t.Errorf("Int(%q) = %d, want %d", tt.tag, got, tt.want)
		}
	}
	if n, ok := q.Digit("state"); n != 6 || !ok {
		t.Errorf("Digit(state) = %d, %v; want 6, true", n, ok)
	}
	for _, tag := range []string{"desiredec", "word", "missing"} {
		if _, ok := q.Digit(tag); ok {
			t.Errorf("Digit(%q) ok, want not ok", tag)
		}
	}
	if v, ok := q.Get("empty"); v != "" || !ok {
		t.Errorf("Get(empty) = %q, %v", v, ok)
	}
	if _, ok := q.Get("missing"); ok {
		t.Error("Get(missing) ok")
	}
	if got := q.String("word"); got != "abc" {
		t.Errorf("String(word) = %q", got)
	}
}

func TestQfileSet(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		tag   string
		value string
		want  string // file after Set
		get   string // value read back
	}{
		{"replace keeps other bytes", "a:1\nstatus:\nz: 9\n", "status", "Dialing", "a:1\nstatus:Dialing\nz: 9\n", "Dialing"},
		{"same value keeps original bytes", "a:   1\n", "a", "1", "a:   1\n", "1"},
		{"new tag before items", "a:1\nfax:0::docq/d.tif\n", "commid", "000000042", "a:1\ncommid:000000042\nfax:0::docq/d.tif\n", "000000042"},
		{"new tag at end", "a:1", "b", "2", "a:1\nb:2\n", "2"},
		{"last duplicate wins", "n:1\nn:2\n", "n", "3", "n:1\nn:3\n", "3"},
		{"leading blanks dropped", "", "a", "  x ", "a:x \n", "x "},
		{"newline in plain value", "", "csi", "a\r\nb", "csi:a  b\n", "a  b"},
		{"multi-line status", "", "status", "Failed\nline two\r\nthree", "status:Failed\\\nline two\\\nthree\n", "Failed\\\nline two\\\nthree"},
		{"status trailing newline and backslash dropped", "status:x\nnext:1\n", "status", "oops\\\n", "status:oops\nnext:1\n", "oops"},
		{"already escaped status", "", "status", "a\\\nb", "status:a\\\nb\n", "a\\\nb"},
		{"status continued at EOF is cut when a line follows", "status:x\\", "zz", "1", "status:x\nzz:1\n", "1"},
		{"unknown tag", "a:1\n", "x-gofax", "v", "a:1\nx-gofax:v\n", "v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := ParseQfile("q", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			q.Set(tt.tag, tt.value)
			if got := string(q.Bytes()); got != tt.want {
				t.Errorf("file\n got %q\nwant %q", got, tt.want)
			}
			back, _ := ParseQfile("q", q.Bytes())
			if got := back.String(tt.tag); got != tt.get {
				t.Errorf("read back %q, want %q", got, tt.get)
			}
		})
	}
}

func TestQfileSetBadTagPanics(t *testing.T) {
	for _, tag := range []string{"", "a:b", "a\nb", "a\r"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Set(%q) did not panic", tag)
				}
			}()
			(&Qfile{}).Set(tag, "x")
		}()
	}
}

func TestQfileItems(t *testing.T) {
	q := mustParseFile(t, "testdata/qfiles/items.q")
	want := []Item{
		{"!pdf", 0, "", "docq/doc3.pdf.14"},
		{"fax", 0, "", "docq/doc3.tif;10"},
		{"!postscript", 0, "", "docq/doc4.ps.14"},
		{"fax", 2, "sub", "docq/doc4.tif;a:b"},
		{"poll", 0, "sel", "pwd"},
		{"page", 0, "", "docq/msg"},
		{"fax", 0, "", "docq/bare.tif"},
		{"tiff", 7, "", "docq/odd.tif"},
	}
	if got := q.Items(); !reflect.DeepEqual(got, want) {
		t.Errorf("Items\n got %+v\nwant %+v", got, want)
	}
	var fax []Item
	for _, it := range want {
		if it.Op == OpFax {
			fax = append(fax, it)
		}
	}
	if got := q.FaxItems(); !reflect.DeepEqual(got, fax) {
		t.Errorf("FaxItems = %+v", got)
	}
}

func TestQfileSetItems(t *testing.T) {
	in := "jobid:1\n!tiff:0::docq/a.tif.1\nfax:0::docq/a.tif;00\nfax:docq/b.tif\nstatus:\n"
	q, _ := ParseQfile("q", []byte(in))
	if err := q.SetItems(q.Items()); err != nil {
		t.Fatal(err)
	}
	if got := string(q.Bytes()); got != "jobid:1\n!tiff:0::docq/a.tif.1\nfax:0::docq/a.tif;00\nfax:docq/b.tif\nstatus:\n" {
		t.Errorf("unchanged items moved or reformatted: %q", got)
	}
	items := q.Items()
	items[2].DirNum = 3
	if err := q.SetItems(items[1:]); err != nil {
		t.Fatal(err)
	}
	if got, want := string(q.Bytes()), "jobid:1\nfax:0::docq/a.tif;00\nfax:3::docq/b.tif\nstatus:\n"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	bad := []Item{
		{"fax", 0, "", ""},
		{"bogus", 0, "", "x"},
		{"fax", -1, "", "x"},
		{"fax", 0, "a:b", "x"},
		{"fax", 0, "", "x\ny"},
	}
	before := string(q.Bytes())
	for _, it := range bad {
		if err := q.SetItems([]Item{it}); !errors.Is(err, ErrBadItem) {
			t.Errorf("SetItems(%+v) err = %v, want ErrBadItem", it, err)
		}
	}
	if string(q.Bytes()) != before {
		t.Error("rejected SetItems changed the file")
	}
	if err := q.SetItems(nil); err != nil {
		t.Fatal(err)
	}
	if err := q.SetItems([]Item{{OpFax, 0, "", "docq/c.tif"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := string(q.Bytes()), "jobid:1\nstatus:\nfax:0::docq/c.tif\n"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestQfileAdvanceFax(t *testing.T) {
	const in = "jobid:1\n!tiff:0::docq/a.tif.1\nfax:0::docq/a;3\n!pdf:0::docq/b.pdf.1\nfax:1::docq/b;4\nfax:0::docq/c;2\n"
	pages := map[string]int{"docq/a;3": 3, "docq/b;4": 4, "docq/c;2": 2}
	count := func(it Item) (int, error) { return pages[it.Path], nil }
	tests := []struct {
		sent    int
		removed []string
		fax     []Item
	}{
		{0, nil, []Item{{"fax", 0, "", "docq/a;3"}, {"fax", 1, "", "docq/b;4"}, {"fax", 0, "", "docq/c;2"}}},
		{2, nil, []Item{{"fax", 2, "", "docq/a;3"}, {"fax", 1, "", "docq/b;4"}, {"fax", 0, "", "docq/c;2"}}},
		{3, []string{"docq/a;3"}, []Item{{"fax", 1, "", "docq/b;4"}, {"fax", 0, "", "docq/c;2"}}},
		{4, []string{"docq/a;3"}, []Item{{"fax", 2, "", "docq/b;4"}, {"fax", 0, "", "docq/c;2"}}},
		{6, []string{"docq/a;3", "docq/b;4"}, []Item{{"fax", 0, "", "docq/c;2"}}},
		{8, []string{"docq/a;3", "docq/b;4", "docq/c;2"}, nil},
		{99, []string{"docq/a;3", "docq/b;4", "docq/c;2"}, nil},
	}
	for _, tt := range tests {
		q, _ := ParseQfile("q", []byte(in))
		removed, err := q.AdvanceFax(tt.sent, count)
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, it := range removed {
			paths = append(paths, it.Path)
		}
		if !reflect.DeepEqual(paths, tt.removed) {
			t.Errorf("sent %d: removed %v, want %v", tt.sent, paths, tt.removed)
		}
		if got := q.FaxItems(); !reflect.DeepEqual(got, tt.fax) {
			t.Errorf("sent %d: fax items %+v, want %+v", tt.sent, got, tt.fax)
		}
		if got := len(q.Items()) - len(q.FaxItems()); got != 2 {
			t.Errorf("sent %d: %d source items left, want 2", tt.sent, got)
		}
	}
	q, _ := ParseQfile("q", []byte(in))
	boom := errors.New("no such file")
	if _, err := q.AdvanceFax(1, func(Item) (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
	if string(q.Bytes()) != in {
		t.Error("failed AdvanceFax changed the file")
	}
}

// TestQfileAsSent applies what a send program writes after a partly
// successful attempt to a qfile made like hfaxd's and compares the result
// with a golden file.
func TestQfileAsSent(t *testing.T) {
	q := mustParseFile(t, "testdata/qfiles/hfaxd-job.q")
	q.Set("commid", "000000042")
	q.SetInt("totdials", q.Int("totdials")+1)
	q.SetInt("tottries", q.Int("tottries")+1)
	q.SetInt("npages", 1)
	q.Set("signalrate", "14400 bit/s")
	q.Set("dataformat", "2-D MMR")
	q.Set("csi", "+49 30 1234567")
	q.Set("status", "Call dropped after page 1\n(retrying)")
	q.SetInt("statuscode", 0)
	q.SetInt("returned", 0)
	q.Set("x-gofax-uuid", "5d0c7a4e-1f1b-4c39-9a55-5b1f0e0b6a3c")
	if _, err := q.AdvanceFax(1, func(Item) (int, error) { return 3, nil }); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "hfaxd-job-sent.golden", q.Bytes())
	checkRoundTrip(t, "sent", q.Bytes())
}

func mustParseFile(t *testing.T, path string) *Qfile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParseQfile(path, data)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func copyToTemp(t *testing.T, src string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "q2")
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

func TestOpenQfileSave(t *testing.T) {
	path := copyToTemp(t, "testdata/qfiles/hfaxd-job.q")
	ino := inode(t, path)
	ctx := context.Background()
	q, err := OpenQfile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if q.Name() != path || q.String("jobid") != "2" {
		t.Fatalf("name %q jobid %q", q.Name(), q.String("jobid"))
	}
	q.Set("status", "Sending 14400/ECM")
	if err := q.SetItems(nil); err != nil {
		t.Fatal(err)
	}
	if err := q.Save(); err != nil {
		t.Fatal(err)
	}
	if got := inode(t, path); got != ino {
		t.Errorf("inode changed %d → %d", ino, got)
	}
	data, _ := os.ReadFile(path)
	if !bytes.Equal(data, q.Bytes()) {
		t.Error("file and Bytes differ after Save")
	}
	if !bytes.Contains(data, []byte("\nstatus:Sending 14400/ECM\nstatuscode:0\n")) || bytes.Contains(data, []byte("fax:")) {
		t.Errorf("saved file:\n%s", data)
	}
	// A second Save of a shorter file truncates.
	q.Set("status", "")
	if err := q.Save(); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	if !bytes.Equal(data, q.Bytes()) {
		t.Error("file not truncated")
	}
	if len(q.Fields()) == 0 || q.Fields()[len(q.Fields())-1].Line != len(q.Fields()) {
		t.Error("line numbers not renewed after Save")
	}
}

func TestOpenQfileLock(t *testing.T) {
	path := copyToTemp(t, "testdata/qfiles/hfaxd-job.q")
	q, err := OpenQfile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := OpenQfile(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second open while locked: err = %v, want deadline exceeded", err)
	}
	done := make(chan error, 1)
	go func() {
		q2, err := OpenQfile(context.Background(), path)
		if err == nil {
			err = q2.Close()
		}
		done <- err
	}()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("open after unlock: %v", err)
	}
	if err := q.Save(); !errors.Is(err, ErrNotOpen) {
		t.Errorf("Save after Close: %v", err)
	}
	if err := q.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOpenQfileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenQfile(context.Background(), filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("a:b\n"), MaxQfileSize/4+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenQfile(context.Background(), big); !errors.Is(err, ErrQfileTooLarge) {
		t.Errorf("big file: %v", err)
	}
	q, _ := ParseQfile("mem", nil)
	if err := q.Save(); !errors.Is(err, ErrNotOpen) {
		t.Errorf("Save of parsed qfile: %v", err)
	}
}

func FuzzParseQfile(f *testing.F) {
	for _, file := range qfileSamples(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "status", "a\nb\\")
	}
	f.Add([]byte("status:x\\\n\\\n\ny:1"), "npages", " 3")
	f.Fuzz(func(t *testing.T, data []byte, tag, value string) {
		q, err := ParseQfile("fuzz", data)
		if err != nil {
			if len(data) <= MaxQfileSize {
				t.Fatal(err)
			}
			return
		}
		checkRoundTrip(t, "fuzz", data)
		if tag == "" || strings.ContainsAny(tag, ":\r\n") {
			return
		}
		n := len(q.Fields())
		q.Set(tag, value)
		back, err := ParseQfile("fuzz", q.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := back.String(tag), cleanValue(tag, value); got != want {
			t.Fatalf("Set(%q, %q) read back %q, want %q\nfile %q", tag, value, got, want, q.Bytes())
		}
		if got := len(back.Fields()); got != n && got != n+1 {
			t.Fatalf("Set changed the number of fields from %d to %d", n, got)
		}
	})
}

func BenchmarkParseQfile(b *testing.B) {
	data, err := os.ReadFile("testdata/qfiles/hfaxd-job.q")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseQfile("q", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQfileUpdate is one per-page update as a send program does it:
// set the counters and status and rewrite the locked file in place.
func BenchmarkQfileUpdate(b *testing.B) {
	data, err := os.ReadFile("testdata/qfiles/hfaxd-job.q")
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "q1")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	q, err := OpenQfile(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	n := 0
	for b.Loop() {
		n++
		q.SetInt("npages", n)
		q.Set("status", "Sending page")
		if err := q.Save(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestQfileStatus: a status faxq continued over lines (a converter's
// error output with its line break) reads without the continuation
// backslashes.
func TestQfileStatus(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{"status:Busy signal detected\n", "Busy signal detected"},
		{"status:Cannot convert: broken fonts\\\n\nstate:8\n", "Cannot convert: broken fonts"},
		{"status:Conversion failed:\\\nline two\\\nline three\nstate:8\n", "Conversion failed:\nline two\nline three"},
		{"status:  \n", ""},
		{"state:8\n", ""},
	} {
		q, err := ParseQfile("q", []byte(c.raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := q.Status(); got != c.want {
			t.Errorf("Status of %q = %q, want %q", c.raw, got, c.want)
		}
	}
}
