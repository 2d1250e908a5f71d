package call

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
)

// replay feeds every event of a real capture for the originated channel
// (the first Unique-ID of a CHANNEL_CREATE) into apply.
func replay(t *testing.T, name string) (gofaxlib.Result, []kind) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".raw"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := esl.NewReader(f)
	var r gofaxlib.Result
	var kinds []kind
	uuid := ""
	for {
		m, err := rd.ReadMessage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.ContentType() != esl.TypeEventPlain {
			continue
		}
		ev, err := esl.ParseEvent(m)
		if err != nil {
			t.Fatal(err)
		}
		if uuid == "" && ev.Name() == "CHANNEL_CREATE" {
			uuid = ev.UUID()
		}
		if ev.UUID() != uuid || uuid == "" {
			continue
		}
		if k := apply(&r, ev); k != evOther {
			kinds = append(kinds, k)
		}
	}
	return r, kinds
}

func TestApplyCaptures(t *testing.T) {
	tests := []struct {
		name      string
		delivered bool
		final     bool
		code      gofaxlib.T30Code
		pages     int
		total     int
		cause     string
		app       string
		last      kind
	}{
		{"t38_A_plain", true, true, 0, 2, 2, "NORMAL_CLEARING", "", evHangupComplete},
		{"g711_A_plain", true, true, 0, 2, 2, "NORMAL_CLEARING", "", evHangupComplete},
		{"farend-hangup-t38_A_plain", false, true, 49, 1, 2, "NORMAL_CLEARING", "", evHangupComplete},
		{"missing-document_A_plain", false, false, 0, 0, 0, "NORMAL_CLEARING", "Cannot send non-existant fax file", evHangupComplete},
		{"busy-486_A_plain", false, false, 0, 0, 0, "USER_BUSY", "", evHangupComplete},
		{"no-answer_A_plain", false, false, 0, 0, 0, "NO_ANSWER", "", evHangupComplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, kinds := replay(t, tt.name)
			if r.Delivered() != tt.delivered || r.Final != tt.final || r.ResultCode != tt.code ||
				r.TransferredPages != tt.pages || r.TotalPages != tt.total || r.HangupCause != tt.cause || r.AppResponse != tt.app {
				t.Errorf("result %+v", r)
			}
			if len(kinds) == 0 || kinds[len(kinds)-1] != tt.last {
				t.Errorf("event kinds %v", kinds)
			}
			if tt.delivered && (r.TransferRate != 14400 || r.RemoteID == "" || len(r.Pages) != 2 || r.Pages[0].EncodingName == "") {
				t.Errorf("session details %+v", r)
			}
		})
	}
}

func TestOriginate(t *testing.T) {
	vars := []Var{{"origination_uuid", "u1"}, {"fax_header", "ACME, Inc. (Fax)"}}
	got, err := Originate(vars, "gw1", "+495551234", "/var/spool/hylafax/docq/doc1.tif;00")
	want := "{origination_uuid='u1',fax_header='ACME, Inc. (Fax)'}sofia/gateway/gw1/+495551234 &txfax(/var/spool/hylafax/docq/doc1.tif;00)"
	if err != nil || got != want {
		t.Fatalf("got %q, %v\nwant %q", got, err, want)
	}
	bad := []struct {
		name                  string
		vars                  []Var
		gateway, number, file string
	}{
		{"quote in value", []Var{{"fax_ident", "a',x='b"}}, "gw", "1", "/f"},
		{"brace in value", []Var{{"fax_ident", "a}sofia/gateway/evil/1"}}, "gw", "1", "/f"},
		{"bar in value", []Var{{"fax_ident", "a|b"}}, "gw", "1", "/f"},
		{"newline in value", []Var{{"fax_ident", "a\nb"}}, "gw", "1", "/f"},
		{"bad name", []Var{{"fax ident", "a"}}, "gw", "1", "/f"},
		{"empty name", []Var{{"", "a"}}, "gw", "1", "/f"},
		{"extra leg in number", nil, "gw", "1,sofia/gateway/x/2", "/f"},
		{"failover in number", nil, "gw", "1|2", "/f"},
		{"path in gateway", nil, "gw/x", "1", "/f"},
		{"space in number", nil, "gw", "1 2", "/f"},
		{"app in file", nil, "gw", "1", "/f) &park("},
		{"space in file", nil, "gw", "1", "/a b"},
		{"empty number", nil, "gw", "", "/f"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := Originate(tt.vars, tt.gateway, tt.number, tt.file); !errors.Is(err, ErrDial) {
				t.Errorf("accepted: %q", s)
			}
		})
	}
}

func FuzzOriginate(f *testing.F) {
	f.Add("fax_header", "ACME, Inc.", "gw1", "5551234", "/docq/doc1.tif;00")
	f.Add("x", "a'}b", "g", "1|2", "/f")
	f.Fuzz(func(t *testing.T, name, value, gw, number, file string) {
		s, err := Originate([]Var{{name, value}, {"origination_uuid", "u"}}, gw, number, file)
		if err != nil {
			return
		}
		// Parsed with FreeSWITCH's rules (as the simulator implements
		// them): exactly our two variables, one endpoint, one
		// application; nothing from outside could add more.
		o, err := esltest.ParseOriginate(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if len(o.Vars) != 2 || o.Vars[0].Name != name || o.Vars[0].Value != value || o.Vars[1].Value != "u" ||
			len(o.Legs) != 1 || len(o.Legs[0]) != 1 || o.Legs[0][0].Gateway != gw || o.Legs[0][0].Destination != number ||
			o.App != "txfax" || o.AppArg != file || strings.ContainsAny(s, "\r\n\x00") {
			t.Fatalf("dial string %q parses as %+v", s, o)
		}
		if Sanitize(value) != value && safeValue(value) {
			t.Fatalf("Sanitize changed a safe value %q", value)
		}
	})
}
