package hylafax

import (
	"strconv"
	"strings"
)

// SpandspPage is what mod_spandsp reports of one page: fax_encoding_name,
// and fax_image_resolution and fax_image_pixel_size of the line image
// ("<x>x<y>", resolution in pixels per metre).
type SpandspPage struct {
	Encoding   string
	Resolution string
	PixelSize  string
}

// SpandspParams returns the session parameters of a fax call in HylaFAX's
// Class 2 codes from what mod_spandsp reported: the signalling rate in
// bit/s (fax_transfer_rate), whether ECM was used and the page whose
// parameters count (the last one transferred; the zero SpandspPage when
// none was). spandsp's ECM frames are 256 bytes. What spandsp did not
// report keeps the T.30 baseline every fax machine supports: 2400 bit/s,
// normal resolution, 1-D MH, A4 width and length. gofaxd and gofaxsend
// both describe their calls with it (xferfaxlog, TIFF tags, FIFO
// records, the qfile).
func SpandspParams(rate int, ecm bool, pg SpandspPage) Class2Params {
	var p Class2Params
	if br, err := BitRateCode(rate); err == nil {
		p.BR = br
	}
	if ecm {
		p.EC = ECEnable256
	}
	if df, err := DataFormatCode(pg.Encoding); err == nil {
		p.DF = df
	}
	if vr, err := SpandspResolutionCode(pg.Resolution); err == nil {
		p.VR = vr
	}
	p.WD, p.LN = spandspPageSize(pg)
	return p
}

// spandspPageSize returns the WD and LN codes of a page from its size in
// pixels and its resolution in pixels per metre; A4 when spandsp did not
// say. Widths round to the nearest T.30 width (215, 255, 303 mm). Lengths
// below 330 mm, halfway between A4 and B4, are A4 as faxsend decides it;
// B4 (364 mm) is B4 with a little slack, and longer pages are unlimited.
func spandspPageSize(pg SpandspPage) (wd, ln uint8) {
	w, h, ok1 := spandspPair(pg.PixelSize)
	xpm, ypm, ok2 := spandspPair(pg.Resolution)
	if !ok1 || !ok2 {
		return WD1728, LNA4
	}
	switch mm := w * 1000 / xpm; {
	case mm > 280:
		wd = WD2432
	case mm > 235:
		wd = WD2048
	default:
		wd = WD1728
	}
	switch mm := h * 1000 / ypm; {
	case mm > 370:
		ln = LNUnlimited
	case mm >= 330:
		ln = LNB4
	default:
		ln = LNA4
	}
	return wd, ln
}

// spandspPair parses spandsp's "<x>x<y>" of two positive numbers.
func spandspPair(s string) (x, y int, ok bool) {
	xs, ys, found := strings.Cut(strings.TrimSpace(s), "x")
	x, errx := strconv.Atoi(xs)
	y, erry := strconv.Atoi(ys)
	return x, y, found && errx == nil && erry == nil && x > 0 && y > 0 && x < 1<<30 && y < 1<<30
}
