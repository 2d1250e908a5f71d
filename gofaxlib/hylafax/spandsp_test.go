package hylafax

import "testing"

func TestSpandspParams(t *testing.T) {
	page := func(enc, res, size string) SpandspPage {
		return SpandspPage{Encoding: enc, Resolution: res, PixelSize: size}
	}
	for _, tt := range []struct {
		name string
		rate int
		ecm  bool
		pg   SpandspPage
		want Class2Params
		dcs  string
	}{
		{"nothing known: the T.30 baseline", 0, false, SpandspPage{}, Class2Params{}, "00 40 0E"},
		{"rate only (negotiated, no page yet)", 14400, true, SpandspPage{}, Class2Params{BR: BR14400, EC: ECEnable256}, "00 44 0F 20"},
		{"fine A4 MMR ECM", 14400, true, page("T.6", "8040x7700", "1728x2156"),
			Class2Params{BR: BR14400, EC: ECEnable256, DF: DF2DMMR, VR: VRFine}, "00 46 0F 22"},
		{"B4 width, unlimited length", 9600, false, page("T.4 2-D", "8040x3850", "2048x1600"),
			Class2Params{BR: BR9600, DF: DF2DMR, VR: VRNormal, WD: WD2048, LN: LNUnlimited}, "00 61 9E"},
		{"A3 width, B4 length at superfine", 4800, false, page("T.4 1-D", "8040x15400", "2432x5300"),
			Class2Params{BR: BR4800, VR: VRR8, WD: WD2432, LN: LNB4}, "00 50 6F 01 01 80"},
		{"320 mm is still A4", 14400, false, page("T.4 1-D", "8040x7700", "1728x2464"), Class2Params{BR: BR14400, VR: VRFine}, "00 46 0E"},
		{"unknown size is A4", 7200, false, page("T.4 1-D", "8040x3850", ""), Class2Params{BR: BR7200}, "00 70 0E"},
		{"unknown rate and encoding", 1234, false, page("T.99", "junk", "0x0"), Class2Params{}, "00 40 0E"},
	} {
		p := SpandspParams(tt.rate, tt.ecm, tt.pg)
		if p != tt.want || p.DCS() != tt.dcs {
			t.Errorf("%s: %+v, DCS %q; want %+v, %q", tt.name, p, p.DCS(), tt.want, tt.dcs)
		}
	}
}
