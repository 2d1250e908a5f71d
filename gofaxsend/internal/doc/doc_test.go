package doc

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib/faxdoc"
)

func open(t *testing.T, name string) Source {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return Source{R: bytes.NewReader(b), Size: int64(len(b))}
}

// pageInfo returns the pages of a TIFF as faxdoc describes them.
func pageInfo(t *testing.T, s Source) []faxdoc.PageInfo {
	t.Helper()
	ps, err := faxdoc.ReadPages(s.R, s.Size)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// TestMerge covers the conversion from qfile items to faxdoc sources;
// faxdoc's tests check the copy tag by tag and byte by byte.
func TestMerge(t *testing.T) {
	le2 := open(t, "sent-2page-g3.tif")
	be2 := open(t, "sent-2page-g3-bigendian.tif")
	g4 := open(t, "one-page-g4.tif")
	le2Pages, g4Pages := pageInfo(t, le2), pageInfo(t, g4)
	tests := []struct {
		name string
		srcs []Source
		want []faxdoc.PageInfo
	}{
		{"whole file", []Source{le2}, le2Pages},
		{"second page only", []Source{{R: le2.R, Size: le2.Size, From: 1}}, le2Pages[1:]},
		{"big-endian source converted", []Source{{R: be2.R, Size: be2.Size, From: 1}, g4}, []faxdoc.PageInfo{le2Pages[1], g4Pages[0]}},
		{"three documents", []Source{g4, le2}, append(append([]faxdoc.PageInfo{}, g4Pages...), le2Pages...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			n, err := Merge(&out, tt.srcs)
			if err != nil {
				t.Fatal(err)
			}
			got := pageInfo(t, Source{R: bytes.NewReader(out.Bytes()), Size: int64(out.Len())})
			if n != len(tt.want) || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("%d pages %+v, want %+v", n, got, tt.want)
			}
			checkWithLibtiff(t, out.Bytes(), n)
		})
	}
}

// checkWithLibtiff lets libtiff's tiffinfo read every directory and strip
// of the merged file, when libtiff-tools is installed.
func checkWithLibtiff(t *testing.T, b []byte, pages int) {
	tiffinfo, err := exec.LookPath("tiffinfo")
	if err != nil {
		t.Log("tiffinfo not installed; libtiff check skipped")
		return
	}
	p := filepath.Join(t.TempDir(), "m.tif")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tiffinfo, "-D", p).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("Error")) || bytes.Contains(out, []byte("Warning")) {
		t.Fatalf("tiffinfo: %v\n%s", err, out)
	}
	if got := bytes.Count(out, []byte("=== TIFF directory")); got != pages {
		t.Errorf("tiffinfo sees %d directories, want %d", got, pages)
	}
}

func TestMergeErrors(t *testing.T) {
	le2 := open(t, "sent-2page-g3.tif")
	tests := []struct {
		name string
		srcs []Source
	}{
		{"start beyond end", []Source{{R: le2.R, Size: le2.Size, From: 2}}},
		{"negative start", []Source{{R: le2.R, Size: le2.Size, From: -1}}},
		{"not a tiff", []Source{{R: bytes.NewReader([]byte("%PDF-1.4 hello")), Size: 14}}},
		{"truncated", []Source{{R: le2.R, Size: 100}}},
		{"header only", []Source{{R: bytes.NewReader([]byte("II*\x00\x00\x00\x00\x00")), Size: 8}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Merge(io.Discard, tt.srcs); !errors.Is(err, ErrFormat) {
				t.Errorf("err = %v, want ErrFormat", err)
			}
		})
	}
}

func TestPrepare(t *testing.T) {
	always := func(string) bool { return true }
	spool := t.TempDir()
	for _, d := range []string{"docq", "tmp"} {
		if err := os.Mkdir(filepath.Join(spool, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src, _ := os.ReadFile("testdata/sent-2page-g3.tif")
	g4, _ := os.ReadFile("testdata/one-page-g4.tif")
	// HylaFAX names prepared documents "docN.tif;XX"; a comma broke tiffcp.
	os.WriteFile(filepath.Join(spool, "docq/doc1.tif;00"), src, 0o600)
	os.WriteFile(filepath.Join(spool, "docq/doc,2.tif;00"), g4, 0o600)

	d, err := Prepare(spool, filepath.Join(spool, "tmp"), "m.tif", []Item{{0, "docq/doc1.tif;00"}}, always)
	if err != nil {
		t.Fatal(err)
	}
	if d.Temp || d.Path != filepath.Join(spool, "docq/doc1.tif;00") || d.Pages != 2 || !reflect.DeepEqual(d.Counts, []int{2}) {
		t.Errorf("single document = %+v", d)
	}

	// Whatever the umask, the merged file is 0640: FreeSWITCH reads it
	// through the group, other users not at all.
	for _, mask := range []int{0o077, 0o002} {
		old := syscall.Umask(mask)
		d, err = Prepare(spool, filepath.Join(spool, "tmp"), "m-*.tif", []Item{{1, "docq/doc1.tif;00"}, {0, "docq/doc,2.tif;00"}}, always)
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(d.Path)
		if err != nil || !d.Temp || d.Pages != 2 || fi.Mode().Perm() != 0o640 || filepath.Dir(d.Path) != filepath.Join(spool, "tmp") {
			t.Fatalf("umask %#o: merged document = %+v, %v, %v", mask, d, fi, err)
		}
		if name := filepath.Base(d.Path); !strings.HasPrefix(name, "m-") || !strings.HasSuffix(name, ".tif") || len(name) < len("m-12345.tif") {
			t.Errorf("merged document name %q", name)
		}
		if mask == 0o002 {
			break
		}
		d.Remove()
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.Path); !os.IsNotExist(err) {
		t.Errorf("merged file still there: %v", err)
	}

	// A name FreeSWITCH cannot take is copied.
	d, err = Prepare(spool, filepath.Join(spool, "tmp"), "c*.tif", []Item{{0, "docq/doc1.tif;00"}}, func(string) bool { return false })
	if err != nil || !d.Temp || d.Pages != 2 || !strings.HasPrefix(filepath.Base(d.Path), "c") {
		t.Errorf("copied document = %+v, %v", d, err)
	}
	d.Remove()

	if _, err := Prepare(spool, filepath.Join(spool, "tmp"), "x.tif", []Item{{5, "docq/doc1.tif;00"}}, always); !errors.Is(err, ErrFormat) {
		t.Errorf("bad dirnum: err = %v", err)
	}
	if _, err := Prepare(spool, filepath.Join(spool, "tmp"), "x.tif", []Item{{0, "docq/missing"}}, always); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
	if _, err := Prepare(spool, filepath.Join(spool, "tmp"), "x.tif", nil, always); err == nil {
		t.Error("no items accepted")
	}
}

func TestPages(t *testing.T) {
	tests := []struct {
		name  string
		data  []byte
		pages int
		err   error
	}{
		{"two pages", readTestdata(t, "sent-2page-g3.tif"), 2, nil},
		{"header only", []byte("II*\x00\x00\x00\x00\x00"), 0, ErrFormat},
		{"not a TIFF", []byte("%PDF-1.4"), 0, ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Pages(bytes.NewReader(tt.data), int64(len(tt.data)))
			if n != tt.pages || !errors.Is(err, tt.err) {
				t.Errorf("Pages = %d, %v; want %d, %v", n, err, tt.pages, tt.err)
			}
		})
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
