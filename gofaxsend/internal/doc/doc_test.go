package doc

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

func open(t *testing.T, name string) Source {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return Source{R: bytes.NewReader(b), Size: int64(len(b))}
}

// pageData returns the concatenated image data and the given tags'
// values of every page of a TIFF.
func pageData(t *testing.T, s Source) (data [][]byte, tags []map[uint16][]byte) {
	t.Helper()
	ps, err := readPages(s.R, s.Size)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		var d []byte
		for _, pc := range p.pieces {
			b := make([]byte, pc.size)
			if _, err := s.R.ReadAt(b, pc.off); err != nil {
				t.Fatal(err)
			}
			d = append(d, b...)
		}
		data = append(data, d)
		m := map[uint16][]byte{}
		for _, e := range p.entries {
			switch e.tag {
			case 256, 257, 259, 262, 266, 282, 283, 292, 293, tagPageNumber:
				m[e.tag] = e.value
			}
		}
		tags = append(tags, m)
	}
	return data, tags
}

func TestMerge(t *testing.T) {
	le2 := open(t, "sent-2page-g3.tif")
	be2 := open(t, "sent-2page-g3-bigendian.tif")
	g4 := open(t, "one-page-g4.tif")
	le2Data, le2Tags := pageData(t, le2)
	g4Data, g4Tags := pageData(t, g4)
	pn := func(i, n byte) []byte { return []byte{i, 0, n, 0} }
	tests := []struct {
		name     string
		srcs     []Source
		wantData [][]byte
		wantTags []map[uint16][]byte
	}{
		{"whole file", []Source{le2}, le2Data, le2Tags},
		{"second page only", []Source{{R: le2.R, Size: le2.Size, From: 1}}, le2Data[1:], le2Tags[1:]},
		{"big-endian source converted", []Source{{R: be2.R, Size: be2.Size, From: 1}, g4},
			[][]byte{le2Data[1], g4Data[0]}, []map[uint16][]byte{le2Tags[1], g4Tags[0]}},
		{"three documents", []Source{g4, le2}, append(append([][]byte{}, g4Data...), le2Data...),
			[]map[uint16][]byte{g4Tags[0], le2Tags[0], le2Tags[1]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			n, err := Merge(&out, tt.srcs)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tt.wantData) {
				t.Fatalf("pages = %d, want %d", n, len(tt.wantData))
			}
			data, tags := pageData(t, Source{R: bytes.NewReader(out.Bytes()), Size: int64(out.Len())})
			for i := range data {
				if !bytes.Equal(data[i], tt.wantData[i]) {
					t.Errorf("page %d: image data differs", i+1)
				}
				want := map[uint16][]byte{}
				for k, v := range tt.wantTags[i] {
					want[k] = v
				}
				want[tagPageNumber] = pn(byte(i), byte(n))
				if !reflect.DeepEqual(tags[i], want) {
					t.Errorf("page %d: tags %v, want %v", i+1, tags[i], want)
				}
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

	d, err = Prepare(spool, filepath.Join(spool, "tmp"), "m.tif", []Item{{1, "docq/doc1.tif;00"}, {0, "docq/doc,2.tif;00"}}, always)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(d.Path)
	if err != nil || !d.Temp || d.Pages != 2 || fi.Mode().Perm() != 0o644 || filepath.Dir(d.Path) != filepath.Join(spool, "tmp") {
		t.Fatalf("merged document = %+v, %v, %v", d, fi, err)
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.Path); !os.IsNotExist(err) {
		t.Errorf("merged file still there: %v", err)
	}

	// A name FreeSWITCH cannot take is copied.
	d, err = Prepare(spool, filepath.Join(spool, "tmp"), "c.tif", []Item{{0, "docq/doc1.tif;00"}}, func(string) bool { return false })
	if err != nil || !d.Temp || d.Pages != 2 || filepath.Base(d.Path) != "c.tif" {
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

func FuzzMerge(f *testing.F) {
	for _, n := range []string{"sent-2page-g3.tif", "sent-2page-g3-bigendian.tif", "one-page-g4.tif"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		n, err := Merge(&out, []Source{{R: bytes.NewReader(b), Size: int64(len(b))}})
		if err != nil {
			return
		}
		// What we write, we must read back with the same page count.
		m, err := Pages(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil || m != n {
			t.Fatalf("merged output unreadable: %d pages, %v (want %d)", m, err, n)
		}
	})
}
