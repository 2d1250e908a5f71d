package esltest

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofaxserver/gofaxserver/gofaxlib/faxdoc"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// Signalling rates spandsp reports as fax-transfer-rate: V.17's top
// rate, or V.29's when an end set fax_disable_v17.
const (
	rateV17 = 14400
	rateV29 = 9600
)

// transferRate is the rate of a session between e and peer (nil when no
// peer joined).
func transferRate(e, peer *faxEnd) int {
	if e.disableV17 || (peer != nil && peer.disableV17) {
		return rateV29
	}
	return rateV17
}

// isTrue reads a channel variable as FreeSWITCH's switch_true does.
func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "yes", "on", "1", "enabled", "active", "allow":
		return true
	}
	return false
}

// pageCoding is how one page of the sender's document travels in a
// simulated session: what spandsp reports in its page events and what it
// writes as FaxDcs on the received page.
type pageCoding struct {
	dcs          string // FaxDcs of the received page
	lineRes      string // fax-image-resolution, pixels per metre
	fileRes      string // the sender's fax-file-image-resolution
	pixelSize    string // fax-image-pixel-size
	encoding     string // fax-encoding: spandsp's T4_COMPRESSION_* value
	encodingName string // fax-encoding-name
}

// lineResolutions are spandsp's T4_X_RESOLUTION_* x T4_Y_RESOLUTION_*
// in pixels per metre, as its events report them, for each VR code.
var lineResolutions = map[uint8]string{
	hylafax.VRNormal:  "8040x3850",
	hylafax.VR200x100: "8040x3850",
	hylafax.VRFine:    "8040x7700",
	hylafax.VR200x200: "7874x7874",
	hylafax.VRR8:      "8040x15400",
	hylafax.VR200x400: "7874x15748",
	hylafax.VR300x300: "11811x11811",
	hylafax.VRR16:     "16080x15400",
}

// spandsp's T4_COMPRESSION_* codes and names for the data formats a DCS
// selects.
var encodings = map[uint8][2]string{
	hylafax.DF1DMH:  {"2", "T.4 1-D"},
	hylafax.DF2DMR:  {"4", "T.4 2-D"},
	hylafax.DF2DMMR: {"8", "T.6"},
	hylafax.DFJBIG:  {"32", "T.85(L0)"},
}

// DCS bits (T.30 Table 2, 1-based) that name the data format of a FaxDcs
// a page already carries.
const (
	dcsBit2DMR  = 16
	dcsBit2DMMR = 31
	dcsBitT85   = 78
	dcsBitT85L0 = 79
)

// codePage returns the coding of page p in a session at rate bit/s with
// ECM (the simulated ends always negotiate it): the resolution is the
// page's (as HylaFAX names it, hylafax.ResolutionCode), the data format
// follows its compression (T.6 is MMR, T.4 with 2-D coding MR, anything
// else MH). A page that already carries a FaxDcs (a file spandsp
// received, sent on) keeps it and travels in the data format it names.
func codePage(p faxdoc.PageInfo, rate int) pageCoding {
	params := hylafax.Class2Params{BR: hylafax.BR14400, LN: hylafax.LNUnlimited, EC: hylafax.ECEnable256, ST: hylafax.ST0ms}
	if rate == rateV29 {
		params.BR = hylafax.BR9600
	}
	switch p.Width {
	case 2048:
		params.WD = hylafax.WD2048
	case 2432:
		params.WD = hylafax.WD2432
	}
	params.VR = hylafax.ResolutionCode(p.XDPI(), p.YDPI())
	switch {
	case p.Compression == 4:
		params.DF = hylafax.DF2DMMR
	case p.Compression == 3 && p.T4Options&1 != 0:
		params.DF = hylafax.DF2DMR
	}
	dcs := params.DCS()
	if p.FaxDcs != "" {
		dcs = p.FaxDcs
		params.DF = dcsDataFormat(dcs)
	}
	enc := encodings[params.DF]
	return pageCoding{
		dcs:          dcs,
		lineRes:      lineResolutions[params.VR],
		fileRes:      fmt.Sprintf("%dx%d", perMetre(p.XDPI()), perMetre(p.YDPI())),
		pixelSize:    fmt.Sprintf("%dx%d", p.Width, p.Length),
		encoding:     enc[0],
		encodingName: enc[1],
	}
}

// perMetre converts dots per inch to the whole pixels per metre spandsp
// reports for a file (204 dpi is 8031).
func perMetre(dpi float64) int { return int(dpi / 0.0254) }

// dcsDataFormat reads the data format from a DCS in hex ("00 46 1F 21
// ...").
func dcsDataFormat(dcs string) uint8 {
	var frame []byte
	for _, f := range strings.Fields(dcs) {
		b, err := strconv.ParseUint(f, 16, 8)
		if err != nil {
			break
		}
		frame = append(frame, byte(b))
	}
	bit := func(n int) bool {
		i := (n - 1) / 8
		return i < len(frame) && frame[i]&(0x80>>((n-1)%8)) != 0
	}
	switch {
	case bit(dcsBitT85) || bit(dcsBitT85L0):
		return hylafax.DFJBIG
	case bit(dcsBit2DMMR):
		return hylafax.DF2DMMR
	case bit(dcsBit2DMR):
		return hylafax.DF2DMR
	}
	return hylafax.DF1DMH
}

// documentCoding codes every page of doc for a session at rate bit/s.
func documentCoding(doc []byte, rate int) ([]pageCoding, error) {
	pages, err := faxdoc.ReadPages(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		return nil, err
	}
	c := make([]pageCoding, len(pages))
	for i, p := range pages {
		c[i] = codePage(p, rate)
	}
	return c, nil
}

// sentPage is the coding of page i (1-based; the document repeats when
// a scenario sends more pages than it has) of the session between e and
// peer; false before the first page or without a sender's document.
func sentPage(e, peer *faxEnd, i int) (pageCoding, bool) {
	tx := e
	if !e.tx {
		tx = peer
	}
	if i < 1 || tx == nil || tx.doc == nil {
		return pageCoding{}, false
	}
	c, err := documentCoding(tx.doc, transferRate(e, peer))
	if err != nil || len(c) == 0 {
		return pageCoding{}, false // the document was read when txfax began
	}
	return c[(i-1)%len(c)], true
}
