package hylafax

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib/faxdoc"
)

// tiffFixtures are the received faxes of testdata/tiff (real spandsp
// output, see testdata/tiff/README).
var tiffFixtures = []string{"received-g711-2page.tif", "received-t38-2page.tif", "received-t38-json-2page.tif"}

// tiffCopy copies testdata/tiff/name into a temporary directory.
func tiffCopy(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata/tiff", name))
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// tiffGolden compares got, as JSON, with testdata/tiff/name, or rewrites
// it with -update.
func tiffGolden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("tiff", name), append(b, '\n'))
}

// testFaxTags are the tags the golden files were made with.
var testFaxTags = FaxTags{
	Sender:     "+49 30 1234567",
	CallIDs:    []string{"5551234", "Alice", "4930999", "carrier"},
	Params:     &Class2Params{VR: VRNormal, BR: BR14400, DF: DF2DMR, EC: ECEnable64},
	SubAddress: "42",
	PageTimes:  []uint32{7, 9},
}

func TestTIFFPagesGolden(t *testing.T) {
	got := map[string][]PageInfo{}
	for _, name := range tiffFixtures {
		pages, err := TIFFPages(filepath.Join("testdata/tiff", name))
		if err != nil {
			t.Fatal(err)
		}
		got[name] = pages
		data, _ := os.ReadFile(filepath.Join("testdata/tiff", name))
		if rp, err := ReadTIFFPages(bytes.NewReader(data), int64(len(data))); err != nil || !slices.Equal(rp, pages) {
			t.Errorf("ReadTIFFPages(%s) = %+v, %v", name, rp, err)
		}
		n, err := CountTIFFPages(filepath.Join("testdata/tiff", name))
		if err != nil || n != 2 {
			t.Errorf("CountTIFFPages(%s) = %d, %v, want 2", name, n, err)
		}
		// What the fixtures README promises about spandsp's files.
		for i, p := range pages {
			if p.Width != 1728 || p.Compression != 3 || p.T4Options != 5 || p.FillOrder != 2 || p.FaxRecvParams != 0 {
				t.Errorf("%s page %d: %+v", name, i, p)
			}
		}
	}
	tiffGolden(t, "pages.golden", got)
}

// TestAddFaxTags tags the real spandsp files and reads them back: the new
// tags are there, every other entry and all image data are unchanged.
func TestAddFaxTags(t *testing.T) {
	got := map[string][]PageInfo{}
	for _, name := range tiffFixtures {
		t.Run(name, func(t *testing.T) {
			path := tiffCopy(t, name)
			orig, _ := os.ReadFile(path)
			if err := AddFaxTags(path, testFaxTags); err != nil {
				t.Fatal(err)
			}
			tagged, _ := os.ReadFile(path)
			if !bytes.Equal(orig[:4], tagged[:4]) || !bytes.Equal(orig[8:], tagged[8:len(orig)]) {
				t.Fatal("bytes of the original file changed (only the first IFD offset may)")
			}
			pages, err := TIFFPages(path)
			if err != nil {
				t.Fatal(err)
			}
			got[name] = pages
			for i, p := range pages {
				if p.ImageDescription != "+49 30 1234567\n5551234\nAlice\n4930999\ncarrier" {
					t.Errorf("page %d ImageDescription %q", i, p.ImageDescription)
				}
				// The pages are fine (204x196): the page wins over Params.
				want := Class2Params{VR: VRFine, BR: BR14400, DF: DF2DMR, EC: ECEnable64}.Encode()
				if p.FaxRecvParams != want || p.FaxRecvTime != testFaxTags.PageTimes[i] || p.FaxSubAddress != "42" {
					t.Errorf("page %d: %+v", i, p)
				}
				if !strings.HasPrefix(p.FaxDcs, "00 46 1F") {
					t.Errorf("page %d: spandsp's FaxDcs %q was not kept", i, p.FaxDcs)
				}
			}
			checkOthersKept(t, orig, pages)
			// Tagging again replaces the tags instead of adding more.
			again := testFaxTags
			again.Sender = "other"
			if err := AddFaxTags(path, again); err != nil {
				t.Fatal(err)
			}
			pages2, _ := TIFFPages(path)
			if len(pages2) != 2 || !strings.HasPrefix(pages2[0].ImageDescription, "other\n") {
				t.Errorf("second tagging: %+v", pages2)
			}
			tiffTool(t, path, 2, true)
		})
	}
	tiffGolden(t, "tagged.golden", got)
}

// checkOthersKept compares the pages of the original file with the
// tagged pages: everything but the fax tags is as it was.
func checkOthersKept(t *testing.T, orig []byte, tagged []PageInfo) {
	t.Helper()
	before, err := ReadTIFFPages(bytes.NewReader(orig), int64(len(orig)))
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != len(tagged) {
		t.Fatalf("%d pages became %d", len(before), len(tagged))
	}
	for i, p := range tagged {
		p.ImageDescription, p.FaxRecvParams, p.FaxRecvTime, p.FaxDcs, p.FaxSubAddress = "", 0, 0, "", ""
		b := before[i]
		b.ImageDescription, b.FaxRecvParams, b.FaxRecvTime, b.FaxDcs, b.FaxSubAddress = "", 0, 0, "", ""
		if p != b {
			t.Errorf("page %d: %+v, was %+v", i, p, b)
		}
	}
}

// tiffTool checks the file with libtiff's tiffinfo when it is installed:
// it must read every page and see the fax tags, and for real faxes
// (decode) also decode the image data without a complaint.
func tiffTool(t *testing.T, path string, pages int, decode bool) {
	t.Helper()
	tool, err := exec.LookPath("tiffinfo")
	if err != nil {
		t.Log("tiffinfo not installed (Debian libtiff-tools); libtiff cross-check skipped")
		return
	}
	args := []string{path}
	if decode {
		args = []string{"-D", path}
	}
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("tiffinfo: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{"FaxRecvParams: ", "FaxRecvTime: ", "ImageDescription: "} {
		if !strings.Contains(s, want) {
			t.Errorf("tiffinfo output lacks %q:\n%s", want, s)
		}
	}
	if strings.Count(s, "TIFF Directory at offset") != pages || strings.Contains(s, "Error") || decode && strings.Contains(s, "Warning") {
		t.Errorf("tiffinfo complains or misses pages:\n%s", s)
	}
}

// TestAddFaxTagsBigEndian tags a big-endian file (libtiff's tiffcp -B
// of a spandsp file, which drops FaxDcs), of an odd size so that the new
// IFDs must still be word aligned.
func TestAddFaxTagsBigEndian(t *testing.T) {
	path := tiffCopy(t, "received-t38-2page-bigendian.tif")
	orig, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append(orig, 0xff), 0o600); err != nil {
		t.Fatal(err)
	}
	orig = append(orig, 0xff)
	tags := FaxTags{CallIDs: []string{"555\n1234"}, Params: &Class2Params{BR: BR9600}, DCS: "00 00 00", PageTimes: []uint32{1}}
	if err := AddFaxTags(path, tags); err != nil {
		t.Fatal(err)
	}
	tagged, _ := os.ReadFile(path)
	if string(tagged[:4]) != "MM\x00*" || !bytes.Equal(orig[8:], tagged[8:len(orig)]) {
		t.Fatal("header or original bytes changed")
	}
	if off := binary.BigEndian.Uint32(tagged[4:]); off%2 != 0 || int(off) < len(orig) {
		t.Errorf("first IFD at %d (file was %d bytes)", off, len(orig))
	}
	pages, err := TIFFPages(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pages {
		wantTime := []uint32{1, 9}[i] // page 2 keeps spandsp's FaxRecvTime
		if p.ImageDescription != "1111\n555 1234" || p.FaxDcs != "00 00 00" || p.FaxRecvTime != wantTime ||
			p.FaxRecvParams != (Class2Params{VR: VRFine, BR: BR9600}).Encode() || p.Width != 1728 || p.YResolution != 196 {
			t.Errorf("page %d: %+v", i, p)
		}
	}
	checkOthersKept(t, orig, pages)
	tiffTool(t, path, 2, true)
}

// TestTIFFErrors: a broken file is ErrTIFF (faxdoc's tests cover every
// kind of damage) and AddFaxTags leaves it as it is.
func TestTIFFErrors(t *testing.T) {
	// One IFD of one entry at offset 8 whose next IFD is itself.
	loop := []byte("II*\x00\x08\x00\x00\x00\x01\x00\x00\x01\x03\x00\x01\x00\x00\x00\xc0\x06\x00\x00\x08\x00\x00\x00")
	if _, err := ReadTIFFPages(bytes.NewReader(loop), int64(len(loop))); !errors.Is(err, ErrTIFF) {
		t.Errorf("ReadTIFFPages error = %v, want ErrTIFF", err)
	}
	path := filepath.Join(t.TempDir(), "loop.tif")
	os.WriteFile(path, loop, 0o600)
	if _, err := TIFFPages(path); !errors.Is(err, ErrTIFF) {
		t.Errorf("TIFFPages error = %v, want ErrTIFF", err)
	}
	if err := AddFaxTags(path, testFaxTags); !errors.Is(err, ErrTIFF) {
		t.Errorf("AddFaxTags of a broken file: %v, want ErrTIFF", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, loop) {
		t.Error("AddFaxTags changed a broken file")
	}
}

// TestTIFFZeroPages covers what spandsp leaves when no page arrived: an
// empty file, or a header without IFDs.
func TestTIFFZeroPages(t *testing.T) {
	dir := t.TempDir()
	header := filepath.Join(dir, "header.tif")
	os.WriteFile(header, []byte("II*\x00\x00\x00\x00\x00"), 0o600)
	if n, err := CountTIFFPages(header); n != 0 || err != nil {
		t.Errorf("header only: %d pages, %v", n, err)
	}
	if err := AddFaxTags(header, testFaxTags); !errors.Is(err, ErrTIFF) {
		t.Errorf("AddFaxTags on no pages: %v, want ErrTIFF", err)
	}
	empty := filepath.Join(dir, "empty.tif")
	os.WriteFile(empty, nil, 0o600)
	if _, err := CountTIFFPages(empty); !errors.Is(err, ErrTIFF) {
		t.Errorf("empty file: %v, want ErrTIFF", err)
	}
	if _, err := CountTIFFPages(filepath.Join(dir, "missing.tif")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// BenchmarkAddFaxTags tags a real 2-page fax in memory (the file I/O of
// AddFaxTags is two writes and two fsyncs on top).
func BenchmarkAddFaxTags(b *testing.B) {
	data, err := os.ReadFile("testdata/tiff/received-t38-2page.tif")
	if err != nil {
		b.Fatal(err)
	}
	r := bytes.NewReader(data)
	for b.Loop() {
		tf, err := faxdoc.Read(r, int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := faxTagsTail(tf, testFaxTags); err != nil {
			b.Fatal(err)
		}
	}
}
