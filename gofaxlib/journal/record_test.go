package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRecordRoundTrip(t *testing.T) {
	when := time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.UTC)
	for _, tc := range []struct {
		name string
		rec  Record
	}{
		{"object", Record{ID: NewID(), Kind: "recv.start", Time: when, Data: []byte(`{"a": 1, "b": "x y"}`)}},
		{"array", Record{ID: "host1:job:17", Kind: "send.attempt", Time: when, Data: []byte(`[1, null]`)}},
		{"newline in a string", Record{ID: "A.b_c-d", Kind: "x", Time: when, Data: []byte(`{"s":"line1\nline2\r\u2028"}`)}},
		{"string", Record{ID: "1", Kind: "0-k_ind.x", Time: when, Data: []byte(`"text"`)}},
		{"<, > and &", Record{ID: "2", Kind: "recv.done", Time: when, Data: []byte(`{"remote_id":"<+49 30 1> & \u003c"}`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line, err := tc.rec.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Count(line, []byte{'\n'}) != 1 || line[len(line)-1] != '\n' {
				t.Fatalf("line %q: want exactly one newline, at the end", line)
			}
			got, err := Decode(line)
			if err != nil {
				t.Fatalf("Decode(%q): %v", line, err)
			}
			if got.ID != tc.rec.ID || got.Kind != tc.rec.Kind || !got.Time.Equal(tc.rec.Time) {
				t.Errorf("got %+v, want %+v", got, tc.rec)
			}
			var a, b any
			if err := got.Decode(&a); err != nil {
				t.Fatal(err)
			}
			if err := tc.rec.Decode(&b); err != nil {
				t.Fatal(err)
			}
			if ja, jb := mustJSON(t, a), mustJSON(t, b); ja != jb {
				t.Errorf("payload %s, want %s", ja, jb)
			}
		})
	}
}

func TestRecordRejected(t *testing.T) {
	when := time.Now()
	big := `"` + strings.Repeat("x", MaxRecordSize) + `"`
	for _, tc := range []struct {
		name string
		rec  Record
	}{
		{"empty id", Record{Kind: "k", Time: when, Data: []byte(`1`)}},
		{"id with blank", Record{ID: "a b", Kind: "k", Time: when, Data: []byte(`1`)}},
		{"id too long", Record{ID: strings.Repeat("a", maxIDLen+1), Kind: "k", Time: when, Data: []byte(`1`)}},
		{"kind upper case", Record{ID: "a", Kind: "Recv", Time: when, Data: []byte(`1`)}},
		{"kind starting with a dot", Record{ID: "a", Kind: ".recv", Time: when, Data: []byte(`1`)}},
		{"no payload", Record{ID: "a", Kind: "k", Time: when}},
		{"payload not JSON", Record{ID: "a", Kind: "k", Time: when, Data: []byte(`{"a":`)}},
		{"two JSON values", Record{ID: "a", Kind: "k", Time: when, Data: []byte(`1 2`)}},
		{"too large", Record{ID: "a", Kind: "k", Time: when, Data: []byte(big)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if line, err := tc.rec.Encode(); !errors.Is(err, ErrRecord) {
				t.Errorf("Encode = %q, %v; want ErrRecord", line, err)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	good, err := Record{ID: "a", Kind: "k", Time: time.Now(), Data: []byte(`{"x":1}`)}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)-4] ^= 1
	for _, tc := range []struct {
		name string
		line []byte
		want error
	}{
		{"empty", nil, ErrRecord},
		{"no prefix", good[3:], ErrRecord},
		{"other version", append([]byte("J2"), good[2:]...), ErrRecord},
		{"checksum not hex", append([]byte("J1 zzzzzzzz"), good[11:]...), ErrRecord},
		{"content changed", flipped, ErrChecksum},
		{"torn", good[:len(good)-5], ErrChecksum},
		{"valid crc, not a record", encodeRaw(`{"id":"a b","kind":"k","time":"2026-01-02T15:04:05Z","data":1}`), ErrRecord},
		{"valid crc, no data", encodeRaw(`{"id":"a","kind":"k","time":"2026-01-02T15:04:05Z"}`), ErrRecord},
		{"valid crc, not JSON", encodeRaw(`{"id":`), ErrRecord},
		{"too long", append(append([]byte("J1 00000000 "), bytes.Repeat([]byte("x"), MaxRecordSize)...), '\n'), ErrRecord},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if rec, err := Decode(tc.line); !errors.Is(err, tc.want) {
				t.Errorf("Decode = %+v, %v; want %v", rec, err, tc.want)
			}
		})
	}
}

// encodeRaw frames body with a correct checksum.
func encodeRaw(body string) []byte {
	var b bytes.Buffer
	b.WriteString(linePrefix)
	b.WriteString(crcHex([]byte(body)))
	b.WriteByte(' ')
	b.WriteString(body)
	b.WriteByte('\n')
	return b.Bytes()
}

func TestNewIDSortsByTime(t *testing.T) {
	a := NewID()
	time.Sleep(2 * time.Millisecond)
	b := NewID()
	if len(a) != 32 || len(b) != 32 || a >= b {
		t.Errorf("ids %q, %q: want 32 hex digits, increasing", a, b)
	}
	if !validName(a, maxIDLen, false) {
		t.Errorf("NewID %q is not a valid id", a)
	}
}

// TestScanSegment reads testdata/segment.jnl: four records, then a torn
// line, which counts as skipped only once its writer is gone.
func TestScanSegment(t *testing.T) {
	b, err := os.ReadFile("testdata/segment.jnl")
	if err != nil {
		t.Fatal(err)
	}
	lastNL := int64(bytes.LastIndexByte(b, '\n') + 1)
	for _, tc := range []struct {
		name     string
		final    bool
		consumed int64
		skipped  int
	}{
		{"writer alive", false, lastNL, 0},
		{"writer gone", true, int64(len(b)), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var kinds []string
			res, err := scan(bytes.NewReader(b), tc.final, func(r Record, off int64) { kinds = append(kinds, r.Kind) })
			if err != nil {
				t.Fatal(err)
			}
			if want := "recv.start recv.done journal.ack send.attempt"; strings.Join(kinds, " ") != want {
				t.Errorf("kinds %q, want %q", kinds, want)
			}
			if res.consumed != tc.consumed || res.skipped != tc.skipped {
				t.Errorf("consumed %d, skipped %d; want %d, %d", res.consumed, res.skipped, tc.consumed, tc.skipped)
			}
		})
	}
}

// TestScanSkipsBadLines: a corrupt line or one longer than MaxRecordSize
// in the middle costs that line only.
func TestScanSkipsBadLines(t *testing.T) {
	rec := func(id string) []byte {
		l, err := Record{ID: id, Kind: "k", Time: time.Now(), Data: []byte(`1`)}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	var b bytes.Buffer
	b.Write(rec("a"))
	bad := rec("b")
	bad[20] ^= 0x20
	b.Write(bad)
	b.Write(bytes.Repeat([]byte("y"), 3*MaxRecordSize))
	b.WriteByte('\n')
	b.WriteString("garbage\n")
	b.Write(rec("c"))
	var ids []string
	res, err := scan(bytes.NewReader(b.Bytes()), false, func(r Record, off int64) { ids = append(ids, r.ID) })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != "a,c" || res.skipped != 3 || res.consumed != int64(b.Len()) {
		t.Errorf("ids %q, skipped %d, consumed %d of %d", ids, res.skipped, res.consumed, b.Len())
	}
}

// BenchmarkNewRecordEncode: a reception record (about 1 KiB) made and
// encoded, as gofaxd does for each received call.
func BenchmarkNewRecordEncode(b *testing.B) {
	type reception struct {
		UUID, CommID, File, Modem, Recipient, Reason, Class, RemoteID string
		Start, End                                                    time.Time
		Pages, TransferRate                                           int
		Env                                                           map[string]string
	}
	v := reception{UUID: "0f314832-a46f-4293-85fb-140acc5cadeb", CommID: "000001234",
		File: "recvq/fax000001234.tif", Modem: "freeswitch3", Recipient: "+4930123456",
		Reason: "", Class: "received", RemoteID: "<+49 30 99999>", Start: time.Now(), End: time.Now(),
		Pages: 2, TransferRate: 14400,
		Env: map[string]string{"HANGUPCAUSE": "NORMAL_CLEARING", "x": strings.Repeat("y", 600)}}
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewRecord("recv.done", v)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEncodeFormat: Encode writes the line as the journal always did: the
// envelope as encoding/json marshals it, after the CRC of its bytes, with
// the payload compacted (encoding/json would also escape <, > and & in
// the payload's strings; Encode leaves them, which decodes the same).
func TestEncodeFormat(t *testing.T) {
	when := time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.UTC)
	for _, rec := range []Record{
		{ID: "a", Kind: "k", Time: when, Data: []byte("{ \"x\" : [1, 2.5e3, true, null],\n \"y\": \"a b\\n\\u00e9\" }")},
		{ID: "host1:job:17", Kind: "send.attempt", Time: when.In(time.FixedZone("X", 3600)), Data: []byte(`"text"`)},
		{ID: NewID(), Kind: "recv.done", Time: time.Time{}, Data: []byte(` 17 `)},
	} {
		line, err := rec.Encode()
		if err != nil {
			t.Fatal(err)
		}
		var data bytes.Buffer
		if err := json.Compact(&data, rec.Data); err != nil {
			t.Fatal(err)
		}
		body, err := json.Marshal(envelope{ID: rec.ID, Kind: rec.Kind, Time: rec.Time, Data: data.Bytes()})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("J1 %08x %s\n", crc32.Checksum(body, castagnoli), body)
		if string(line) != want {
			t.Errorf("Encode(%+v)\n got %q\nwant %q", rec, line, want)
		}
	}
}
