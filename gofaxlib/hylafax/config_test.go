package hylafax

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	src := "# comment\n" +
		"  \n" +
		"Tag: value trailing words\n" +
		"&Locked:\t\"a \\\"quoted\\\" \\\\ value\\n\\101\\7x\"\n" +
		"no colon here\n" +
		"Spaced Tag :x\n" +
		"unterminated: \"abc\n" +
		"crlf: v\r\n" +
		"nul: a\x00b\n" +
		"empty:\n" +
		"   # indented comment\n" +
		"last:\"q\""
	want := []ConfigItem{
		{Tag: "tag", Value: "value", Line: 3},
		{Tag: "&locked", Value: "a \"quoted\" \\ value\nA\ax", Line: 4},
		{Tag: "spaced tag ", Value: "x", Line: 6},
		{Tag: "crlf", Value: "v", Line: 8},
		{Tag: "nul", Value: "a", Line: 9},
		{Tag: "empty", Value: "", Line: 10},
		{Tag: "last", Value: "q", Line: 12},
	}
	if got := ParseConfig([]byte(src)); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestConfigNumberAndBool(t *testing.T) {
	for in, want := range map[string]int{"42": 42, "0x1f": 31, "017": 15, "-3": -3, "+7": 7, "12abc": 12, "": 0, "x": 0,
		"0x": 0, "08": 0, "99999999999": 1<<31 - 1, "-99999999999": -1 << 31} {
		if got := ConfigNumber(in); got != want {
			t.Errorf("ConfigNumber(%q) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]bool{"yes": true, "On": true, "TRUE": true, "1": false, "no": false, "": false} {
		if got := ConfigBool(in); got != want {
			t.Errorf("ConfigBool(%q) = %v", in, got)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("Tag: value x\n&Locked:\"a\\\"b\\\\c\\n\\101\"\n# c\nJobReqBusy: 30\n"))
	f.Add([]byte("x:\"\\0\"\ny:\"\\\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		items := ParseConfig(b)
		var out []byte
		for _, it := range items {
			if strings.ContainsAny(it.Tag, ":\n\x00") {
				t.Fatalf("tag %q", it.Tag)
			}
			if strings.ContainsRune(it.Value, 0) {
				t.Fatalf("value %q holds NUL", it.Value)
			}
			out = append(out, it.Tag+":"+quoteConfig(it.Value)+"\n"...)
		}
		// Writing the values quoted and reading again gives them back.
		again := ParseConfig(out)
		if len(again) != len(items) {
			t.Fatalf("%d items, then %d from %q", len(items), len(again), out)
		}
		for i := range items {
			if again[i].Tag != items[i].Tag || again[i].Value != items[i].Value {
				t.Errorf("item %d: %+v, then %+v", i, items[i], again[i])
			}
		}
	})
}
