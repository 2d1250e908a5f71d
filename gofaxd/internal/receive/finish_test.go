package receive

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

func TestPageSeconds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		measured map[int]time.Duration
		written  []uint32
		want     []uint32
	}{
		{"fast pages, spandsp wrote 0", map[int]time.Duration{1: 300 * time.Millisecond, 2: 999 * time.Millisecond},
			[]uint32{0, 0}, []uint32{1, 1}},
		{"rounded up", map[int]time.Duration{1: 1001 * time.Millisecond, 2: 9600 * time.Millisecond, 3: 2 * time.Second},
			[]uint32{1, 9, 2}, []uint32{2, 10, 2}},
		{"spandsp's longer time kept", map[int]time.Duration{1: 10 * time.Millisecond}, []uint32{7}, []uint32{7}},
		{"untimed page: spandsp's, at least 1", map[int]time.Duration{1: 1500 * time.Millisecond}, []uint32{0, 0, 4},
			[]uint32{2, 1, 4}},
		{"no events", nil, []uint32{0, 3}, []uint32{1, 3}},
		{"events for pages the file lacks", map[int]time.Duration{1: time.Second, 5: time.Hour, 1 << 30: time.Second},
			[]uint32{0}, []uint32{1}},
		{"huge", map[int]time.Duration{1: math.MaxInt64}, []uint32{0}, []uint32{math.MaxUint32}},
		{"file unreadable", map[int]time.Duration{1: time.Second}, nil, []uint32{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pageSeconds(tc.measured, tc.written); !slices.Equal(got, tc.want) {
				t.Errorf("pageSeconds = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRecvDCS(t *testing.T) {
	// 14400 bit/s, fine, MMR with ECM: "00 46 0F 22" is HylaFAX's own
	// example of the form.
	params := hylafax.Class2Params{VR: hylafax.VRFine, BR: hylafax.BR14400, WD: hylafax.WD1728, LN: hylafax.LNA4,
		DF: hylafax.DF2DMMR, EC: hylafax.ECEnable256}
	fromParams := params.DCS()
	if fromParams != "00 46 0F 22" {
		t.Fatalf("params DCS %q: the fallback cases below would not tell", fromParams)
	}
	spandsp := "00 46 1F 21 01 01 01 01 01 02" // tiff/received-t38-2page.tif
	for _, tc := range []struct {
		name  string
		pages []string // FaxDcs of each page
		want  string
	}{
		{"spandsp's DCS", []string{spandsp, spandsp}, spandsp},
		{"lower case and blanks normalised", []string{" 00  46 1f\t21 "}, "00 46 1F 21"},
		{"single digits padded", []string{"0 46 F"}, "00 46 0F"},
		{"last page's", []string{"00 46 1F", "00 42 1F", ""}, "00 42 1F"},
		{"file unreadable: from the parameters", nil, fromParams},
		{"no FaxDcs: from the parameters", []string{"", ""}, fromParams},
		{"too short", []string{"00 46"}, fromParams},
		{"too long", []string{strings.Repeat("01 ", 17)}, fromParams},
		{"not hex", []string{"00 46 1G"}, fromParams},
		{"not a byte", []string{"00 146 1F"}, fromParams},
		{"a quote", []string{`00 46 "1F`}, fromParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pages []hylafax.PageInfo
			for _, d := range tc.pages {
				pages = append(pages, hylafax.PageInfo{FaxDcs: d})
			}
			if got := recvDCS(pages, params); got != tc.want {
				t.Errorf("recvDCS = %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzHexDCS: what hexDCS accepts becomes 3 to 16 upper-case hex bytes,
// one blank apart, which it keeps as they are.
func FuzzHexDCS(f *testing.F) {
	for _, s := range []string{"00 46 1F 21 01 01 01 01 01 02", " 00  46 1f\t21 ", "0 46 F", "00 46", "00 46 1G", `00 46 "1F`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dcs, ok := hexDCS(s)
		if !ok {
			return
		}
		fields := strings.Split(dcs, " ")
		if len(fields) < minDCSBytes || len(fields) > maxDCSBytes {
			t.Fatalf("hexDCS(%q) = %q: %d bytes", s, dcs, len(fields))
		}
		for _, b := range fields {
			if len(b) != 2 || strings.Trim(b, "0123456789ABCDEF") != "" {
				t.Fatalf("hexDCS(%q) = %q: byte %q", s, dcs, b)
			}
		}
		if again, ok := hexDCS(dcs); !ok || again != dcs {
			t.Fatalf("hexDCS(%q) = %q, then %q %v", s, dcs, again, ok)
		}
	})
}
