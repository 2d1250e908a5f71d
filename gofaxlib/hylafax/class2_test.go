package hylafax

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestClass2Encode(t *testing.T) {
	tests := []struct {
		name string
		p    Class2Params
		want uint32
	}{
		// The contract's recipe: fine, 14400, A4, 1-D MH.
		{"fine 14400 A4 MH", Class2Params{VR: VRFine, BR: BR14400}, 2097193},
		{"zero value still has the version bit", Class2Params{}, 1 << 21},
		{"normal 9600", Class2Params{VR: VRNormal, BR: BR9600}, 1<<21 | 3<<3},
		{"fine 14400 MR ECM", Class2Params{VR: VRFine, BR: BR14400, DF: DF2DMR, EC: ECEnable64}, 1<<21 | 1<<16 | 1<<14 | 5<<3 | 1},
		{"ECM 256 keeps one bit", Class2Params{EC: ECEnable256}, 1<<21 | 1<<16},
		{"superfine", Class2Params{VR: VRR8}, 1<<21 | 2},
		{"R16", Class2Params{VR: VRR16}, 1<<21 | 4},
		{"200x200 dpi folds into fine", Class2Params{VR: VR200x200}, 1<<21 | 1},
		{"200x100 dpi folds into normal", Class2Params{VR: VR200x100}, 1 << 21},
		{"300x300 dpi folds into R16", Class2Params{VR: VR300x300}, 1<<21 | 4},
		{"B4 unlimited MMR", Class2Params{WD: WD2048, LN: LNUnlimited, DF: DF2DMMR}, 1<<21 | 1<<9 | 2<<12 | 3<<14},
		{"V.34 33600", Class2Params{BR: BR33600}, 1<<21 | 13<<3},
		{"scan time 40ms BFT", Class2Params{ST: ST40ms, BF: BFEnable}, 1<<21 | 7<<18 | 1<<17},
		{"JBIG keeps two bits", Class2Params{DF: DFJBIG}, 1 << 21},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Encode(); got != tt.want {
				t.Errorf("Encode() = %d (%#x), want %d (%#x)", got, got, tt.want, tt.want)
			}
		})
	}
}

func TestDecodeClass2Params(t *testing.T) {
	tests := []struct {
		name    string
		v       uint32
		want    Class2Params
		wantErr bool
	}{
		{"contract recipe", 2097193, Class2Params{VR: VRFine, BR: BR14400}, false},
		{"letter length reads as A4", 1<<21 | 3<<12, Class2Params{LN: LNA4}, false},
		{"original layout: fine 14400 B4 MR ECM", 1 | 5<<1 | 1<<4 | 1<<9 | 1<<11, Class2Params{VR: VRFine, BR: BR14400, WD: WD2048, DF: DF2DMR, EC: ECEnable64}, false},
		{"original layout zero", 0, Class2Params{}, false},
		{"original layout with bits above 15", 1 << 16, Class2Params{}, true},
		{"bits above the version", 1<<22 | 1<<21, Class2Params{}, true},
		{"all ones", 0xffffffff, Class2Params{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeClass2Params(tt.v)
			if tt.wantErr {
				if !errors.Is(err, ErrClass2Params) {
					t.Fatalf("DecodeClass2Params(%#x) error = %v, want ErrClass2Params", tt.v, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("DecodeClass2Params(%#x) = %+v, %v, want %+v", tt.v, got, err, tt.want)
			}
		})
	}
}

// TestClass2RoundTrip checks Decode(Encode(p)) == p for every parameter
// set the encoding can hold.
func TestClass2RoundTrip(t *testing.T) {
	n := 0
	for _, vr := range []uint8{VRNormal, VRFine, VRR8, VRR16} {
		for br := range uint8(14) {
			for wd := range uint8(5) {
				for ln := range uint8(3) {
					for df := range uint8(4) {
						for ec := range uint8(2) {
							for bf := range uint8(2) {
								for st := range uint8(8) {
									p := Class2Params{vr, br, wd, ln, df, ec, bf, st}
									got, err := DecodeClass2Params(p.Encode())
									if err != nil || got != p {
										t.Fatalf("round trip of %+v = %+v, %v", p, got, err)
									}
									n++
								}
							}
						}
					}
				}
			}
		}
	}
	if n != 4*14*5*3*4*2*2*8 {
		t.Fatalf("checked %d combinations", n)
	}
}

func TestBitRates(t *testing.T) {
	tests := []struct {
		bps  int
		code uint8
		text string
	}{
		{2400, BR2400, "2400 bit/s"},
		{4800, BR4800, "4800 bit/s"},
		{7200, BR7200, "7200 bit/s"},
		{9600, BR9600, "9600 bit/s"},
		{12000, BR12000, "12000 bit/s"},
		{14400, BR14400, "14400 bit/s"},
		{16800, BR16800, "16800 bit/s"},
		{33600, BR33600, "33600 bit/s"},
	}
	for _, tt := range tests {
		code, err := BitRateCode(tt.bps)
		if err != nil || code != tt.code {
			t.Errorf("BitRateCode(%d) = %d, %v, want %d", tt.bps, code, err, tt.code)
		}
		p := Class2Params{BR: tt.code}
		if p.BitRate() != tt.bps || p.SignalRate() != tt.text {
			t.Errorf("BR %d: BitRate() = %d, SignalRate() = %q, want %d, %q", tt.code, p.BitRate(), p.SignalRate(), tt.bps, tt.text)
		}
	}
	for _, bad := range []int{0, -1, 14000, 64000} {
		if _, err := BitRateCode(bad); !errors.Is(err, ErrClass2Params) {
			t.Errorf("BitRateCode(%d) error = %v, want ErrClass2Params", bad, err)
		}
	}
	if got := (Class2Params{BR: 14}).SignalRate(); got != "0 bit/s" {
		t.Errorf("unknown BR SignalRate() = %q, want HylaFAX's %q", got, "0 bit/s")
	}
}

func TestDataFormats(t *testing.T) {
	tests := []struct {
		spandsp string
		df      uint8
		name    string
	}{
		{"T.4 1-D", DF1DMH, "1-D MH"},
		{"T.4 2-D", DF2DMR, "2-D MR"},
		{"T.6", DF2DMMR, "2-D MMR"},
		{"T.85", DFJBIG, "JBIG"},
		{"T.85(L0)", DFJBIG, "JBIG"}, // what the fixtures negotiated
	}
	for _, tt := range tests {
		df, err := DataFormatCode(tt.spandsp)
		if err != nil || df != tt.df {
			t.Errorf("DataFormatCode(%q) = %d, %v, want %d", tt.spandsp, df, err, tt.df)
		}
		if got := (Class2Params{DF: df}).DataFormat(); got != tt.name {
			t.Errorf("DF %d DataFormat() = %q, want %q", df, got, tt.name)
		}
	}
	if got := (Class2Params{DF: DF2DUncompressed}).DataFormat(); got != "2-D Uncompressed Mode" {
		t.Errorf("DataFormat() = %q", got)
	}
	if got := (Class2Params{DF: 9}).DataFormat(); got != "" {
		t.Errorf("unknown DF DataFormat() = %q, want empty", got)
	}
	for _, bad := range []string{"", "T.42", "JPEG"} {
		if _, err := DataFormatCode(bad); !errors.Is(err, ErrClass2Params) {
			t.Errorf("DataFormatCode(%q) error = %v, want ErrClass2Params", bad, err)
		}
	}
}

func TestResolutionCodes(t *testing.T) {
	tests := []struct {
		spandsp string
		want    uint8
	}{
		{"8040x3850", VRNormal},
		{"8040x7700", VRFine}, // the fixtures
		{"8040x15400", VRR8},
		{"16080x15400", VRR16},
		{"7874x3937", VR200x100},
		{"7874x7874", VR200x200},
		{"7874x15748", VR200x400},
		{"11811x11811", VR300x300},
		{" 8040x7700 ", VRFine},
	}
	for _, tt := range tests {
		got, err := SpandspResolutionCode(tt.spandsp)
		if err != nil || got != tt.want {
			t.Errorf("SpandspResolutionCode(%q) = %#x, %v, want %#x", tt.spandsp, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "8040", "x7700", "8040x", "0x0", "-1x7700", "axb"} {
		if _, err := SpandspResolutionCode(bad); !errors.Is(err, ErrClass2Params) {
			t.Errorf("SpandspResolutionCode(%q) error = %v, want ErrClass2Params", bad, err)
		}
	}
	// TIFF resolutions as libtiff and ghostscript write them.
	if got := ResolutionCode(204, 98); got != VRNormal {
		t.Errorf("204x98 = %#x", got)
	}
	if got := ResolutionCode(204, 196); got != VRFine {
		t.Errorf("204x196 = %#x", got)
	}
	if got := ResolutionCode(204, 391); got != VRR8 {
		t.Errorf("204x391 = %#x", got)
	}
}

func TestCapabilities(t *testing.T) {
	tests := []struct {
		name string
		word uint32
		caps Capabilities
	}{
		{"gofaxserver", 0xcef9ff01, FreeSWITCHCapabilities},
		// GOfax.IP's hard-coded announcement "pcbffff01".
		{"GOfax.IP", 0xcbffff01, Capabilities{VR: 0x01, BR: 0x3f, WD: 0x1f, LN: 0x7, DF: 0xf, EC: 0x2, ST: 0x3}},
		// faxmodem's default "(0,1),(0-3),(0-4),(0-2),(0),(0),(0),(0-7)", observed as Pc87fcf01.
		{"faxmodem default", 0xc87fcf01, Capabilities{VR: 0x01, BR: 0x0f, WD: 0x1f, LN: 0x7, DF: 0x1, EC: 0x2, ST: 0x3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecodeCapabilities(tt.word); got != tt.caps {
				t.Errorf("DecodeCapabilities(%#x) = %+v, want %+v", tt.word, got, tt.caps)
			}
			if got := tt.caps.Encode(); got != tt.word {
				t.Errorf("Encode() = %#x, want %#x", got, tt.word)
			}
		})
	}
	// Every word survives decode and encode, except bit 7, which no
	// field uses.
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		v := r.Uint32()
		if got := DecodeCapabilities(v).Encode(); got != v&^0x80 {
			t.Fatalf("Encode(DecodeCapabilities(%#x)) = %#x", v, got)
		}
	}
	// What faxq checks (faxd/Modem.c++): fine resolution, A4..A3 width.
	c := FreeSWITCHCapabilities
	if c.VR&VRFine == 0 || c.WD&(1<<WD1728) == 0 || c.WD&(1<<WD2432) == 0 || c.LN&(1<<LNUnlimited) == 0 {
		t.Errorf("FreeSWITCHCapabilities %+v lacks what faxq needs", c)
	}
	if c.WD&(1<<WD1216|1<<WD864) != 0 || c.DF&(1<<DF2DUncompressed) != 0 || c.VR&VRR8 != 0 {
		t.Errorf("FreeSWITCHCapabilities %+v claims what spandsp cannot send", c)
	}
}
