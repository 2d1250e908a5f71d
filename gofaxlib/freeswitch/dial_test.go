package freeswitch

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDialString(t *testing.T) {
	d := Dial{
		Vars: Vars{
			{"origination_uuid", "0d6f1c2e-8a61-4d7e-9a1b-4c1e2f3a4b5c"},
			{"origination_caller_id_name", "ACME Fax & Co"},
			{"fax_ident", "+1 337"},
			{"fax_header", "GONICUS LABS: \"fax\" = 100%"},
			{"fax_use_ecm", "true"},
		},
		Gateways: []string{"default", "backup.gw-2"},
		Number:   "+49 (30) 123-45.67",
	}
	got, err := d.DialString()
	if err != nil {
		t.Fatal(err)
	}
	want := `{origination_uuid='0d6f1c2e-8a61-4d7e-9a1b-4c1e2f3a4b5c',origination_caller_id_name='ACME Fax & Co',fax_ident='+1 337',fax_header='GONICUS LABS: "fax" = 100%',fax_use_ecm='true'}` +
		`sofia/gateway/default/+49301234567|sofia/gateway/backup.gw-2/+49301234567`
	if got != want {
		t.Errorf("DialString()\n got %s\nwant %s", got, want)
	}
	cmd, err := d.TxFax("/var/spool/hylafax/tmp/gofaxsend_0d6f1c2e.tif")
	if err != nil {
		t.Fatal(err)
	}
	if cmd != "originate "+want+" &txfax(/var/spool/hylafax/tmp/gofaxsend_0d6f1c2e.tif)" {
		t.Errorf("TxFax() = %s", cmd)
	}
	empty, err := Dial{Gateways: []string{"gw"}, Number: "123"}.DialString()
	if err != nil || empty != "{}sofia/gateway/gw/123" {
		t.Errorf("no vars: %q, %v", empty, err)
	}
}

// TestDialInjection feeds every character and sequence that means something
// to FreeSWITCH's originate parser through each input; each must be refused.
func TestDialInjection(t *testing.T) {
	bad := []string{"'", ",", "}", "{", "[", "]", "|", "\r", "\n", "\x00", "${x}", "$", "^^:", "\\", "`", ":_:", "\t", "\x7f"}
	ok := Dial{Vars: Vars{{"fax_ident", "1"}}, Gateways: []string{"gw"}, Number: "123"}
	for _, b := range bad {
		t.Run("value "+b, func(t *testing.T) {
			d := ok
			d.Vars = Vars{{"fax_header", "a" + b + "fax_ident=x"}}
			if _, err := d.DialString(); !errors.Is(err, ErrInvalidVar) {
				t.Errorf("value with %q: err = %v", b, err)
			}
		})
		t.Run("name "+b, func(t *testing.T) {
			d := ok
			d.Vars = Vars{{"fax" + b, "1"}}
			if _, err := d.DialString(); !errors.Is(err, ErrInvalidVar) {
				t.Errorf("name with %q: err = %v", b, err)
			}
		})
		t.Run("number "+b, func(t *testing.T) {
			if b == "\t" {
				return // a tab is formatting, like a space, and is removed
			}
			d := ok
			d.Number = "123" + b + "4"
			if _, err := d.DialString(); !errors.Is(err, ErrInvalidNumber) {
				t.Errorf("number with %q: err = %v", b, err)
			}
		})
		t.Run("gateway "+b, func(t *testing.T) {
			d := ok
			d.Gateways = []string{"gw" + b + "x"}
			if _, err := d.DialString(); !errors.Is(err, ErrInvalidGateway) {
				t.Errorf("gateway with %q: err = %v", b, err)
			}
		})
		t.Run("file "+b, func(t *testing.T) {
			if _, err := ok.TxFax("/tmp/a" + b + ".tif"); !errors.Is(err, ErrInvalidPath) {
				t.Errorf("file with %q: err = %v", b, err)
			}
		})
	}
	for _, f := range []string{"relative.tif", "/tmp/a b.tif", "/tmp/a).tif", "/tmp/a&x.tif", "/tmp/../etc/x", "/tmp/.."} {
		if _, err := ok.TxFax(f); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("TxFax(%q): err = %v", f, err)
		}
	}
	if _, err := (Dial{Number: "1"}).DialString(); !errors.Is(err, ErrNoGateway) {
		t.Errorf("no gateway: %v", err)
	}
	if err := CheckVar("fax_header", strings.Repeat("x", maxValueLen+1)); !errors.Is(err, ErrInvalidVar) {
		t.Errorf("long value: %v", err)
	}
	if err := CheckVar("fax_header", "\xff"); !errors.Is(err, ErrInvalidVar) {
		t.Errorf("invalid UTF-8: %v", err)
	}
}

func TestCleanNumber(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"04012345678", "04012345678"},
		{"+49 (40) 123-456.78", "+494012345678"},
		{"0040/123", "0040123"},
		{"*31#123", "*31#123"},
		{"12AbCd", "12AbCd"},
		{"", ""},
		{"+", ""},
		{"12+3", ""},
		{"123E", ""},
		{"sip:123@x", ""},
		{strings.Repeat("1", maxNumberLen+1), ""},
	}
	for _, tt := range tests {
		got, err := CleanNumber(tt.in)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("CleanNumber(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestSafeValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"O'Brien, Ltd.", "O Brien  Ltd."},
		{"a\r\nfax_ident=x", "a  fax_ident=x"},
		{"${evil}|{x}", "evil   x"},
		{"x:_:_:y", "x: : :y"},
		{"  ok  ", "ok"},
		{"bad\xffutf8", "badutf8"},
		{"Grüße", "Grüße"},
	}
	for _, tt := range tests {
		got := SafeValue(tt.in)
		if got != tt.want {
			t.Errorf("SafeValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if err := CheckVar("x", got); err != nil {
			t.Errorf("SafeValue(%q) = %q is refused: %v", tt.in, got, err)
		}
	}
	if got := SafeValue(strings.Repeat("ü", maxValueLen)); len(got) > maxValueLen || !utf8.ValidString(got) {
		t.Errorf("long value not cut on a rune boundary: %d bytes", len(got))
	}
}

func TestVars(t *testing.T) {
	var vs Vars
	vs.Set("a", "1")
	vs.Set("b", "2")
	vs.Set("a", "3")
	if len(vs) != 2 || vs[0] != (Var{"a", "3"}) {
		t.Errorf("Set: %v", vs)
	}
	if v, ok := vs.Get("b"); !ok || v != "2" {
		t.Errorf("Get(b) = %q, %v", v, ok)
	}
	if _, ok := vs.Get("c"); ok {
		t.Error("Get(c) found")
	}
}

// fsOriginateArgs splits an API argument string the way FreeSWITCH's
// originate does: at blanks outside single quotes, then removing the quotes.
func fsOriginateArgs(s string) []string {
	var args []string
	var cur strings.Builder
	inQ, started := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			inQ = !inQ
			started = true
		case c == ' ' && !inQ:
			if started {
				args = append(args, cur.String())
				cur.Reset()
				started = false
			}
		default:
			cur.WriteByte(c)
			started = true
		}
	}
	if started {
		args = append(args, cur.String())
	}
	return args
}

// fsParseDial reads the first argument of originate the way FreeSWITCH
// does: the {...} block (ended by the first '}'), split at ','; then the legs
// split at '|'.
func fsParseDial(arg string) (vars []Var, legs []string, ok bool) {
	if !strings.HasPrefix(arg, "{") {
		return nil, nil, false
	}
	end := strings.IndexByte(arg, '}')
	if end < 0 || strings.Contains(arg, ":_:") {
		return nil, nil, false
	}
	if block := arg[1:end]; block != "" {
		for _, kv := range strings.Split(block, ",") {
			k, v, _ := strings.Cut(kv, "=")
			vars = append(vars, Var{strings.TrimSpace(k), strings.TrimSpace(v)})
		}
	}
	return vars, strings.Split(arg[end+1:], "|"), true
}

// FuzzDialString checks that whatever goes in, a dial string that is
// produced reads back in FreeSWITCH's way as exactly the variables, legs
// and file that were given: nothing from a value becomes a separator.
func FuzzDialString(f *testing.F) {
	f.Add("fax_header", "GONICUS LABS", "default", "+49 30 1234", "/tmp/f.tif")
	f.Add("fax_ident", "x',fax_verbose='true", "gw", "123", "/tmp/a.tif")
	f.Add("a", "b}sofia/gateway/evil/1|x", "gw|evil", "1,2", "/tmp/x) &system(")
	f.Add("a", "^^:x=y:z", "gw", "${x}", "/tmp/${x}")
	f.Fuzz(func(t *testing.T, name, value, gw, number, file string) {
		d := Dial{Vars: Vars{{"origination_uuid", "u-1"}, {name, value}}, Gateways: []string{gw, "second"}, Number: number}
		cmd, err := d.TxFax(file)
		if err != nil {
			return
		}
		args := fsOriginateArgs(strings.TrimPrefix(cmd, "originate "))
		if len(args) != 2 {
			t.Fatalf("%q splits into %d arguments: %q", cmd, len(args), args)
		}
		if args[1] != "&txfax("+file+")" {
			t.Errorf("application part %q, want &txfax(%s)", args[1], file)
		}
		vars, legs, ok := fsParseDial(args[0])
		if !ok || len(vars) != 2 || vars[0] != (Var{"origination_uuid", "u-1"}) || vars[1].Name != name || vars[1].Value != strings.TrimSpace(value) {
			t.Errorf("%q reads back as variables %q", cmd, vars)
		}
		num, _ := CleanNumber(number)
		if len(legs) != 2 || legs[0] != "sofia/gateway/"+gw+"/"+num || legs[1] != "sofia/gateway/second/"+num {
			t.Errorf("%q reads back as legs %q", cmd, legs)
		}
		if strings.ContainsAny(cmd, "\r\n\x00$") {
			t.Errorf("%q contains a control character or $", cmd)
		}
	})
}

func BenchmarkTxFax(b *testing.B) {
	d := Dial{
		Vars:     Vars{{"origination_uuid", "0d6f1c2e-8a61-4d7e-9a1b-4c1e2f3a4b5c"}, {"fax_ident", "+1 337"}, {"fax_header", "GONICUS LABS"}, {"fax_use_ecm", "true"}, {"fax_enable_t38", "true"}},
		Gateways: []string{"default", "backup"},
		Number:   "+49 30 1234567",
	}
	for b.Loop() {
		if _, err := d.TxFax("/var/spool/hylafax/tmp/f.tif"); err != nil {
			b.Fatal(err)
		}
	}
}
