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

// capturedDCS is the FaxDcs spandsp wrote on the pages of
// testdata/received-t38-2page.tif: 14400 bit/s, fine, T.85 L0 with ECM.
const capturedDCS = "00 46 1F 21 01 01 01 01 01 02"

func TestReceivedFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		doc   string
		pages int
		ident string
		rate  int
		dcs   string // FaxDcs of every received page
	}{
		// T.30 bit 10 (receiver), 14 (14400) or 11 (9600), 15 (fine),
		// 20 (unlimited length), 21-23 (0 ms scan lines), 27 (ECM).
		{"fine MH, first page", "sent-2page-g3.tif", 1, "REMOTE ID", rateV17, "00 46 1F 20"},
		{"fine MH, whole document", "sent-2page-g3.tif", 2, "REMOTE ID", rateV17, "00 46 1F 20"},
		{"more pages than the document: it repeats", "sent-2page-g3.tif", 5, "REMOTE ID", rateV17, "00 46 1F 20"},
		{"no remote ident", "sent-2page-g3.tif", 2, "", rateV17, "00 46 1F 20"},
		{"V.17 disabled", "sent-2page-g3.tif", 2, "", rateV29, "00 62 1F 20"},
		{"normal MH", "sent-1page-normal-mh.tif", 1, "", rateV17, "00 44 1F 20"},
		{"spandsp's received file keeps its DCS", "received-t38-2page.tif", 2, "", rateV17, capturedDCS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := os.ReadFile("testdata/" + tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			src, err := faxdoc.ReadPages(bytes.NewReader(doc), int64(len(doc)))
			if err != nil {
				t.Fatal(err)
			}
			out, err := receivedFile(doc, tc.pages, tc.ident, tc.rate)
			if err != nil {
				t.Fatal(err)
			}
			pages, err := faxdoc.ReadPages(bytes.NewReader(out), int64(len(out)))
			if err != nil || len(pages) != tc.pages {
				t.Fatalf("%d pages, %v; want %d", len(pages), err, tc.pages)
			}
			for i, p := range pages {
				want := src[i%len(src)]
				want.FaxDcs = tc.dcs
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
		if p.FaxDcs != capturedDCS {
			t.Errorf("spandsp's page %d has FaxDcs %q, want %q", i+1, p.FaxDcs, capturedDCS)
		}
	}
	if _, err := receivedFile([]byte("II*\x00\x00\x00\x00\x00"), 1, "", rateV17); !errors.Is(err, faxdoc.ErrFormat) {
		t.Errorf("document without pages: %v", err)
	}
}

// TestCodePage: what the simulator reports for a page follows the page,
// as spandsp's reports follow the session (spandsp's page events in the
// captures: 8040x7700 on the line, 8031x7716 in the sender's 204 x 196
// dpi file, T.85(L0) as the capture's DCS says).
func TestCodePage(t *testing.T) {
	page := func(x, y float64, compression uint16, t4 uint32, dcs string) faxdoc.PageInfo {
		return faxdoc.PageInfo{Width: 1728, Length: 2156, XResolution: x, YResolution: y, ResolutionUnit: 2,
			Compression: compression, T4Options: t4, FaxDcs: dcs}
	}
	for _, tc := range []struct {
		name string
		page faxdoc.PageInfo
		rate int
		want pageCoding
	}{
		{"normal MH", page(204, 98, 3, 4, ""), rateV17,
			pageCoding{"00 44 1F 20", "8040x3850", "8031x3858", "1728x2156", "2", "T.4 1-D"}},
		{"fine MR", page(204, 196, 3, 5, ""), rateV17,
			pageCoding{"00 47 1F 20", "8040x7700", "8031x7716", "1728x2156", "4", "T.4 2-D"}},
		{"fine MMR at 9600", page(204, 196, 4, 0, ""), rateV29,
			pageCoding{"00 62 1F 22", "8040x7700", "8031x7716", "1728x2156", "8", "T.6"}},
		{"captured T.85", page(204, 196, 3, 5, capturedDCS), rateV17,
			pageCoding{capturedDCS, "8040x7700", "8031x7716", "1728x2156", "32", "T.85(L0)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := codePage(tc.page, tc.rate); got != tc.want {
				t.Errorf("codePage = %+v, want %+v", got, tc.want)
			}
		})
	}
}
