package esltest

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParseOriginate(t *testing.T) {
	for _, tc := range []struct {
		name, args string
		vars       map[string]string
		legs       []string // "dial|destination|gateway" per leg, failover groups flattened
		app, arg   string
		err        bool
	}{
		{"captured", "{fax_ident=1111,fax_header=ACCEPTANCE-TEST,fax_enable_t38=true}sofia/external/5551234@127.0.0.1:5090 &txfax(/srv/faxspool/testdata/test.tif)",
			map[string]string{"fax_ident": "1111", "fax_header": "ACCEPTANCE-TEST", "fax_enable_t38": "true"},
			[]string{"sofia/external/5551234@127.0.0.1:5090|5551234|"}, "txfax", "/srv/faxspool/testdata/test.tif", false},
		{"gateway", "sofia/gateway/carrier1/+4930123 &txfax(/f.tif)", nil,
			[]string{"sofia/gateway/carrier1/+4930123|+4930123|carrier1"}, "txfax", "/f.tif", false},
		{"quoted", "{fax_header='ACME, Inc. {x}',fax_ident='+49 30 1234'}sofia/gateway/g/1 &txfax(/f.tif)",
			map[string]string{"fax_header": "ACME, Inc. {x}", "fax_ident": "+49 30 1234"},
			[]string{"sofia/gateway/g/1|1|g"}, "txfax", "/f.tif", false},
		{"failover and simultaneous", "{a=1}[b=2]sofia/gateway/g1/1,sofia/gateway/g2/2|loopback/3 &txfax(/f.tif)",
			map[string]string{"a": "1"},
			[]string{"sofia/gateway/g1/1|1|g1", "sofia/gateway/g2/2|2|g2", "loopback/3|3|"}, "txfax", "/f.tif", false},
		{"extension", "sofia/gateway/g/1 park", nil, []string{"sofia/gateway/g/1|1|g"}, "", "", false},
		{"unclosed block", "{a=1 sofia/gateway/g/1 &txfax(/f)", nil, nil, "", "", true},
		{"stray quote", "{a=it's}sofia/gateway/g/1 &txfax(/f)", nil, nil, "", "", true},
		{"unquoted brace", "{a=x}y}sofia/gateway/g/1 &txfax(/f)", nil, nil, "", "", true},
		{"no app close", "sofia/gateway/g/1 &txfax(/f", nil, nil, "", "", true},
		{"empty", "", nil, nil, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseOriginate(tc.args)
			if tc.err {
				if !errors.Is(err, ErrDialString) {
					t.Fatalf("err = %v, want ErrDialString", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.vars {
				if got := o.Vars.Get(k); got != v {
					t.Errorf("var %s = %q, want %q", k, got, v)
				}
			}
			var legs []string
			for _, g := range o.Legs {
				for _, l := range g {
					legs = append(legs, l.DialString+"|"+l.Destination+"|"+l.Gateway)
				}
			}
			if strings.Join(legs, " ") != strings.Join(tc.legs, " ") {
				t.Errorf("legs %q, want %q", legs, tc.legs)
			}
			if o.App != tc.app || o.AppArg != tc.arg {
				t.Errorf("app %q(%q), want %q(%q)", o.App, o.AppArg, tc.app, tc.arg)
			}
		})
	}
}

func FuzzParseOriginate(f *testing.F) {
	for _, name := range []string{"t38_A_plain.raw.sent", "no-answer_A_plain.raw.sent", "missing-document_A_plain.raw.sent"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if args, ok := strings.CutPrefix(line, "bgapi originate "); ok {
				f.Add(args)
			}
		}
	}
	f.Add("{a='b,c'}[d=e]x/y|z/w,v/u &app(arg)")
	f.Fuzz(func(t *testing.T, args string) {
		o, err := ParseOriginate(args)
		if err != nil {
			return
		}
		if len(o.Legs) == 0 {
			t.Fatal("parsed without legs")
		}
		for _, g := range o.Legs {
			for _, l := range g {
				if l.DialString == "" || strings.ContainsAny(l.DialString, " \r\n'{}[]") {
					t.Fatalf("bad dial string %q", l.DialString)
				}
			}
		}
	})
}

func TestCopyPages(t *testing.T) {
	doc, err := os.ReadFile("testdata/sent-2page-g3.tif")
	if err != nil {
		t.Fatal(err)
	}
	src, _, err := parseTIFF(doc)
	if err != nil {
		t.Fatal(err)
	}
	if p, _, err := parseTIFF(tinyTIFF()); err != nil || len(p) != 1 {
		t.Fatalf("tiny TIFF: %d pages, %v", len(p), err)
	}
	for _, n := range []int{1, 2, 5} {
		out, err := copyPages(doc, n, "REMOTE ID")
		if err != nil {
			t.Fatal(err)
		}
		pages, _, err := parseTIFF(out)
		if err != nil || len(pages) != n {
			t.Fatalf("%d pages: got %d, %v", n, len(pages), err)
		}
		for i, p := range pages {
			if !bytes.Equal(bytes.Join(p.strips, nil), bytes.Join(src[i%len(src)].strips, nil)) {
				t.Errorf("page %d: strips differ from source page %d", i+1, i%len(src)+1)
			}
			if got := tagValue(p, tagImageDescription); got != "REMOTE ID\x00" {
				t.Errorf("page %d ImageDescription %q", i+1, got)
			}
		}
		// Copying the copy is the identity.
		again, err := copyPages(out, n, "REMOTE ID")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, out) {
			t.Error("copy of a copy differs")
		}
	}
}

// tinyTIFF is a one-page TIFF with a 4-byte strip: a small fuzz seed
// (the fuzzer minimises large inputs very slowly).
func tinyTIFF() []byte {
	b := []byte("II*\x00\x0c\x00\x00\x00ABCD")
	entry := func(tag, typ uint16, count, value uint32) {
		b = append(b, byte(tag), byte(tag>>8), byte(typ), byte(typ>>8),
			byte(count), byte(count>>8), byte(count>>16), byte(count>>24),
			byte(value), byte(value>>8), byte(value>>16), byte(value>>24))
	}
	b = append(b, 4, 0)
	entry(256, 3, 1, 8) // ImageWidth
	entry(257, 3, 1, 4) // ImageLength
	entry(tagStripOffsets, 4, 1, 8)
	entry(tagStripByteCounts, 4, 1, 4)
	return append(b, 0, 0, 0, 0)
}

func tagValue(p tiffPage, tag uint16) string {
	for _, e := range p.entries {
		if e.tag == tag {
			return string(e.value)
		}
	}
	return ""
}

func FuzzCopyPages(f *testing.F) {
	for _, name := range []string{"testdata/sent-2page-g3.tif"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(1))
	}
	f.Add([]byte("II*\x00\x08\x00\x00\x00\x00\x00"), uint8(1))
	f.Add(tinyTIFF(), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		pages := int(n%4) + 1
		out, err := copyPages(data, pages, "x")
		if err != nil {
			return
		}
		got, _, err := parseTIFF(out)
		if err != nil || len(got) != pages {
			t.Fatalf("copy of %d pages reads back as %d (%v)", pages, len(got), err)
		}
	})
}
