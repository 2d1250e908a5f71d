package faxdoc

import "io"

// PageInfo describes one page (directory) of a fax TIFF. Tags a page does
// not have, or has with a value that cannot be read, read as their TIFF
// default or zero.
type PageInfo struct {
	Width, Length  uint32
	XResolution    float64 // per ResolutionUnit
	YResolution    float64
	ResolutionUnit uint16 // 2 inch (the default), 3 centimetre
	Compression    uint16 // 1 none (the default), 3 CCITT T.4 (G3), 4 CCITT T.6 (G4)
	T4Options      uint32 // bit 0 2-D coding, bit 2 fill bits
	FillOrder      uint16 // 1 MSB first (the default), 2 LSB first
	// ImageDescription is the sender's TSI; HylaFAX adds one caller id
	// a line.
	ImageDescription string
	FaxRecvParams    uint32 // HylaFAX's encoded Class 2 session parameters, 0 when absent
	FaxRecvTime      uint32 // seconds to receive the page
	FaxDcs           string // the DCS frame in hex, "00 46 1F ..."
	FaxSubAddress    string
}

// XDPI returns the horizontal resolution in dots per inch.
func (p PageInfo) XDPI() float64 { return toDPI(p.XResolution, p.ResolutionUnit) }

// YDPI returns the vertical resolution in lines per inch.
func (p PageInfo) YDPI() float64 { return toDPI(p.YResolution, p.ResolutionUnit) }

func toDPI(v float64, unit uint16) float64 {
	if unit == 3 {
		return v * 2.54
	}
	return v
}

// ReadPages returns the pages of the TIFF file in r, which is size bytes
// long.
func ReadPages(r io.ReaderAt, size int64) ([]PageInfo, error) {
	f, err := Read(r, size)
	if err != nil {
		return nil, err
	}
	return f.Pages(), nil
}

// Pages describes every page of f.
func (f *File) Pages() []PageInfo {
	pages := make([]PageInfo, len(f.ifds))
	for i, d := range f.ifds {
		pages[i] = f.page(d)
	}
	return pages
}

// page returns what PageInfo holds of one directory.
func (f *File) page(d ifd) PageInfo {
	p := PageInfo{ResolutionUnit: 2, FillOrder: 1, Compression: 1}
	for _, e := range d.entries {
		var v uint32
		switch e.tag {
		case TagImageWidth, TagImageLength, TagCompression, TagFillOrder, TagT4Options,
			TagResolutionUnit, TagFaxRecvParams, TagFaxRecvTime:
			var ok bool
			if v, ok = f.uint(e); !ok {
				continue // unreadable: the default stays
			}
		}
		switch e.tag {
		case TagImageWidth:
			p.Width = v
		case TagImageLength:
			p.Length = v
		case TagCompression:
			p.Compression = uint16(v)
		case TagFillOrder:
			p.FillOrder = uint16(v)
		case TagImageDescription:
			p.ImageDescription = f.ascii(e)
		case TagXResolution:
			p.XResolution = f.rational(e)
		case TagYResolution:
			p.YResolution = f.rational(e)
		case TagT4Options:
			p.T4Options = v
		case TagResolutionUnit:
			p.ResolutionUnit = uint16(v)
		case TagFaxRecvParams:
			p.FaxRecvParams = v
		case TagFaxRecvTime:
			p.FaxRecvTime = v
		case TagFaxDcs:
			p.FaxDcs = f.ascii(e)
		case TagFaxSubAddress:
			p.FaxSubAddress = f.ascii(e)
		}
	}
	return p
}
