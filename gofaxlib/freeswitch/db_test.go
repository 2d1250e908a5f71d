package freeswitch

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// replay is an API that answers from a real transcript: it expects the
// client's commands in the recorded order, byte for byte, and returns
// FreeSWITCH's recorded answer to each.
type replay struct {
	t       *testing.T
	cmds    []string // "api ..." lines the client sent
	answers []string // bodies of the api/response messages, in order
}

func loadReplay(t *testing.T, name string) *replay {
	t.Helper()
	r := &replay{t: t}
	sent, err := os.Open("testdata/transcripts/" + name + ".raw.sent")
	if err != nil {
		t.Fatal(err)
	}
	defer sent.Close()
	sc := bufio.NewScanner(sent)
	for sc.Scan() {
		if cmd, ok := strings.CutPrefix(sc.Text(), "api "); ok {
			r.cmds = append(r.cmds, cmd)
		}
	}
	raw, err := os.Open("testdata/transcripts/" + name + ".raw")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rd := esl.NewReader(raw)
	for {
		m, err := rd.ReadMessage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.ContentType() == "api/response" {
			r.answers = append(r.answers, string(m.Body))
		}
	}
	if len(r.cmds) != len(r.answers) {
		t.Fatalf("transcript has %d api commands but %d answers", len(r.cmds), len(r.answers))
	}
	return r
}

func (r *replay) API(_ context.Context, cmd string) (string, error) {
	r.t.Helper()
	if len(r.cmds) == 0 {
		r.t.Fatalf("unexpected command %q after the end of the transcript", cmd)
	}
	want, ans := r.cmds[0], r.answers[0]
	r.cmds, r.answers = r.cmds[1:], r.answers[1:]
	if cmd != want {
		r.t.Fatalf("sent %q, transcript has %q", cmd, want)
	}
	return ans, nil
}

// TestDBTranscript replays api-db-misc: every mod_db call sends the exact
// command of the capture and reads FreeSWITCH's real answer.
func TestDBTranscript(t *testing.T) {
	rp := loadReplay(t, "api-db-misc_A_plain")
	ctx := context.Background()
	db := DB{API: rp}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.Set(ctx, "fallback", "5551234", "1700000000"))
	if ok, err := db.Exists(ctx, "fallback", "5551234"); !ok || err != nil {
		t.Errorf("Exists = %v, %v", ok, err)
	}
	if v, err := db.Get(ctx, "fallback", "5551234"); v != "1700000000" || err != nil {
		t.Errorf("Get = %q, %v", v, err)
	}
	if keys, err := db.List(ctx, "fallback"); !reflect.DeepEqual(keys, []string{"5551234"}) || err != nil {
		t.Errorf("List = %q, %v", keys, err)
	}
	if _, err := db.Get(ctx, "override-5551234", "fax_enable_t38"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get missing = %v, want ErrNotFound", err)
	}
	if ok, err := db.Exists(ctx, "override-5551234", "fax_enable_t38"); ok || err != nil {
		t.Errorf("Exists missing = %v, %v", ok, err)
	}
	must(db.Delete(ctx, "fallback", "5551234"))
	if ok, err := db.Exists(ctx, "fallback", "5551234"); ok || err != nil {
		t.Errorf("Exists after delete = %v, %v", ok, err)
	}
	if _, err := db.Get(ctx, "fallback", "5551234"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after delete = %v", err)
	}
	if keys, err := db.List(ctx, "fallback"); keys != nil || err != nil {
		t.Errorf("List of empty realm = %q, %v", keys, err)
	}
	if err := Kill(ctx, rp, "00000000-1111-2222-3333-444444444444", ""); !errors.Is(err, ErrNoChannel) {
		t.Errorf("Kill unknown uuid = %v, want ErrNoChannel", err)
	}
	if out, _ := rp.API(ctx, "status"); !strings.HasPrefix(out, "UP ") {
		t.Errorf("status = %q", out)
	}
	if out, _ := rp.API(ctx, "nosuchcommand"); out != "-ERR nosuchcommand Command not found!\n" {
		t.Errorf("nosuchcommand = %q", out)
	}
	must(db.Set(ctx, "fallback", "5551234", "1700000000"))
	must(db.Set(ctx, "fallback", "5551299", "1700000099"))
	if keys, err := db.List(ctx, "fallback"); !reflect.DeepEqual(keys, []string{"5551234", "5551299"}) || err != nil {
		t.Errorf("List = %q, %v", keys, err)
	}
	must(db.Delete(ctx, "fallback", "5551234"))
	must(db.Delete(ctx, "fallback", "5551299"))
	if len(rp.cmds) != 0 {
		t.Errorf("commands of the transcript not sent: %q", rp.cmds)
	}
}

// apiFunc adapts a function to API.
type apiFunc func(cmd string) (string, error)

func (f apiFunc) API(_ context.Context, cmd string) (string, error) { return f(cmd) }

// memDB is an in-memory mod_db speaking FreeSWITCH's answers.
type memDB map[string]string

func (m memDB) API(_ context.Context, cmd string) (string, error) {
	args, ok := strings.CutPrefix(cmd, "db ")
	if !ok {
		return "-ERR unexpected\n", nil
	}
	p := strings.SplitN(args, "/", 4)
	noReply := "-ERR no reply\n"
	switch p[0] {
	case "insert":
		m[p[1]+"/"+p[2]] = p[3]
		return "+OK", nil
	case "delete":
		delete(m, p[1]+"/"+p[2])
		return "+OK", nil
	case "select":
		if v, ok := m[p[1]+"/"+p[2]]; ok {
			return v, nil
		}
		return noReply, nil
	case "exists":
		_, ok := m[p[1]+"/"+p[2]]
		return map[bool]string{true: "true", false: "false"}[ok], nil
	case "list":
		var keys []string
		for k := range m {
			if r, key, _ := strings.Cut(k, "/"); r == p[1] {
				keys = append(keys, key)
			}
		}
		if len(keys) == 0 {
			return noReply, nil
		}
		slices.Sort(keys)
		return strings.Join(keys, ","), nil
	}
	return "-ERR bad db command\n", nil
}

func TestDBErrors(t *testing.T) {
	ctx := context.Background()
	calls := 0
	db := DB{API: apiFunc(func(string) (string, error) { calls++; return "", nil })}
	for _, bad := range [][2]string{{"fall/back", "k"}, {"fallback", "a b"}, {"fallback", "k\r\nx"}, {"", "k"}, {"fallback", "it's"}, {"fallback", `a\b`}} {
		if _, err := db.Get(ctx, bad[0], bad[1]); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Get(%q, %q) = %v, want ErrInvalidKey", bad[0], bad[1], err)
		}
	}
	if err := db.Set(ctx, "fallback", "k", "v/w"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Set with / in value = %v", err)
	}
	if calls != 0 {
		t.Errorf("invalid input reached FreeSWITCH %d times", calls)
	}
	down := errors.New("connection reset")
	db = DB{API: apiFunc(func(string) (string, error) { return "", down })}
	if _, err := db.Get(ctx, "r", "k"); !errors.Is(err, down) {
		t.Errorf("transport error = %v", err)
	}
	db = DB{API: apiFunc(func(string) (string, error) { return "-ERR db error\n", errors.New("esl: -ERR db error") })}
	if err := db.Set(ctx, "r", "k", "v"); err == nil || !strings.Contains(err.Error(), "-ERR db error") {
		t.Errorf("-ERR answer = %v", err)
	}
	db = DB{API: apiFunc(func(string) (string, error) { return "maybe", nil })}
	if _, err := db.Exists(ctx, "r", "k"); err == nil {
		t.Error("Exists accepted an unexpected answer")
	}
}

func TestOverrides(t *testing.T) {
	m := memDB{
		"override-012345/fax_enable_t38":             "false",
		"override-012345/fax_disable_v17":            "true",
		"override-012345/origination_caller_id_name": "Sales Dept",
		"override-012345/execute_on_answer":          "system rm -rf /",
		"override-012345/api_on_answer":              "x",
		"override-012345/absolute_codec_string":      "PCMU,PCMA",
		"override-099/fax_ident":                     "other",
	}
	vars, rejected, err := DB{API: m}.Overrides(context.Background(), "012345")
	if err != nil {
		t.Fatal(err)
	}
	want := Vars{{"fax_disable_v17", "true"}, {"fax_enable_t38", "false"}, {"origination_caller_id_name", "Sales Dept"}}
	if !reflect.DeepEqual(vars, want) {
		t.Errorf("Overrides = %q, want %q", vars, want)
	}
	if len(rejected) != 3 || !strings.Contains(strings.Join(rejected, "\n"), "execute_on_answer: variable not allowed") {
		t.Errorf("rejected = %q", rejected)
	}
	if vars, _, err := (DB{API: m}).Overrides(context.Background(), "777"); vars != nil || err != nil {
		t.Errorf("no overrides: %q, %v", vars, err)
	}
	if _, _, err := (DB{API: m}).Overrides(context.Background(), "1/2"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("bad number: %v", err)
	}
	for name, want := range map[string]bool{"fax_use_ecm": true, "fax_": false, "sip_h_X-Fax": false, "sip_h_X_Fax": true, "execute_on_answer": false, "origination_caller_id_number": true, "codec_string": true, "codec_string_x": false} {
		if Overridable(name) != want {
			t.Errorf("Overridable(%q) = %v", name, !want)
		}
	}
}

func TestNumberingKey(t *testing.T) {
	de := Numbering{CountryCode: "49", InternationalPrefix: "00", NationalPrefix: "0"}
	us := Numbering{CountryCode: "1", InternationalPrefix: "011", NationalPrefix: "1"}
	off := Numbering{InternationalPrefix: "00", NationalPrefix: "0"}
	nanp := Numbering{CountryCode: "1", InternationalPrefix: "011", NationalPrefix: "1", NationalLength: 10}
	tests := []struct {
		n        Numbering
		in, want string
	}{
		{de, "+49 30 1234", "49301234"},
		{de, "0049301234", "49301234"},
		{de, "030/1234", "49301234"},
		{de, "+1 555 1234", "15551234"},
		{us, "011 49 30 1234", "49301234"},
		{us, "1-555-123-4567", "15551234567"},
		{off, "0301234", "0301234"},
		{off, "+49301234", "49301234"},
		{Numbering{}, "  +49 (30) 1234 ", "49301234"},
		// The number plan's E.164: the optional trunk prefix "(0)" goes,
		// a national number of NationalLength digits gets the country code.
		{de, "+44 (0)20 7946 0958", "442079460958"},
		{nanp, "555 123 4567", "15551234567"},
		{nanp, "+1 555 123 4567", "15551234567"},
		// Numbers E.164 refuses keep the keys they had: short numbers,
		// national ones without a country code.
		{de, "4711", "4711"},
		{de, "+49 030 1234", "490301234"},
		{de, "anonymous", ""},
		{de, "", ""},
		{de, "00", ""},
	}
	for _, tt := range tests {
		got, err := tt.n.Key(tt.in)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("%+v.Key(%q) = %q, %v; want %q", tt.n, tt.in, got, err, tt.want)
		}
		if err != nil && !errors.Is(err, ErrInvalidNumber) {
			t.Errorf("error %v does not wrap ErrInvalidNumber", err)
		}
	}
}
