package esltest

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib/faxdoc"
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

func TestReceivedFile(t *testing.T) {
	doc, err := os.ReadFile("testdata/sent-2page-g3.tif")
	if err != nil {
		t.Fatal(err)
	}
	src, err := faxdoc.ReadPages(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		pages int
		ident string
	}{
		{"first page", 1, "REMOTE ID"},
		{"whole document", 2, "REMOTE ID"},
		{"more pages than the document: it repeats", 5, "REMOTE ID"},
		{"no remote ident", 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := receivedFile(doc, tc.pages, tc.ident)
			if err != nil {
				t.Fatal(err)
			}
			pages, err := faxdoc.ReadPages(bytes.NewReader(out), int64(len(out)))
			if err != nil || len(pages) != tc.pages {
				t.Fatalf("%d pages, %v; want %d", len(pages), err, tc.pages)
			}
			for i, p := range pages {
				want := src[i%len(src)]
				want.FaxDcs = receivedDCS
				if tc.ident != "" {
					want.ImageDescription = tc.ident
				}
				if p != want {
					t.Errorf("page %d: %+v, want %+v", i, p, want)
				}
			}
		})
	}
	spandsp, err := os.ReadFile("testdata/received-t38-2page.tif")
	if err != nil {
		t.Fatal(err)
	}
	realPages, err := faxdoc.ReadPages(bytes.NewReader(spandsp), int64(len(spandsp)))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range realPages {
		if p.FaxDcs != receivedDCS {
			t.Errorf("spandsp's page %d has FaxDcs %q, the simulator writes %q", i+1, p.FaxDcs, receivedDCS)
		}
	}
	if _, err := receivedFile([]byte("II*\x00\x00\x00\x00\x00"), 1, ""); !errors.Is(err, faxdoc.ErrFormat) {
		t.Errorf("document without pages: %v", err)
	}
}
