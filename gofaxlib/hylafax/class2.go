package hylafax

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Class 2 session parameter codes, as HylaFAX numbers them (util/class2.h).
// VR codes are bits, so a Capabilities value can hold several; the other
// fields are small enumerations.
const (
	VRNormal  = 0x00 // 98 lpi (3.85 l/mm)
	VRFine    = 0x01 // 196 lpi (7.7 l/mm)
	VRR8      = 0x02 // superfine, R8 x 15.4 l/mm
	VRR16     = 0x04 // R16 x 15.4 l/mm
	VR200x100 = 0x08 // 200 x 100 dpi
	VR200x200 = 0x10 // 200 x 200 dpi
	VR200x400 = 0x20 // 200 x 400 dpi
	VR300x300 = 0x40 // 300 x 300 dpi

	BR2400  = 0 // V.27ter
	BR4800  = 1 // V.27ter
	BR7200  = 2 // V.29
	BR9600  = 3 // V.29
	BR12000 = 4 // V.17
	BR14400 = 5 // V.17
	BR16800 = 6 // V.34 from here on
	BR19200 = 7
	BR21600 = 8
	BR24000 = 9
	BR26400 = 10
	BR28800 = 11
	BR31200 = 12
	BR33600 = 13

	WD1728 = 0 // A4, 215 mm
	WD2048 = 1 // B4, 255 mm
	WD2432 = 2 // A3, 303 mm
	WD1216 = 3 // A5, 151 mm
	WD864  = 4 // A6, 107 mm

	LNA4        = 0 // 297 mm
	LNB4        = 1 // 364 mm
	LNUnlimited = 2

	DF1DMH           = 0 // Modified Huffman (T.4 1-D)
	DF2DMR           = 1 // Modified READ (T.4 2-D)
	DF2DUncompressed = 2 // 2-D uncompressed mode
	DF2DMMR          = 3 // Modified Modified READ (T.6)
	DFJBIG           = 4 // T.85; encodes as DF1DMH in FaxRecvParams (2 bits only)
	DFJPEGGrey       = 5
	DFJPEGColor      = 6

	ECDisable   = 0 // no ECM
	ECEnable64  = 1 // T.30 Annex A ECM, 64-byte frames
	ECEnable256 = 2 // T.30 Annex A ECM, 256-byte frames

	BFDisable = 0 // no binary file transfer
	BFEnable  = 1

	ST0ms      = 0 // minimum scan line time 0 ms
	ST5ms      = 1
	ST10ms5ms  = 2 // 10 ms, 5 ms at fine resolution
	ST10ms     = 3
	ST20ms10ms = 4
	ST20ms     = 5
	ST40ms20ms = 6
	ST40ms     = 7
)

// Class2Version is the bit that Class2Params.Encode sets so that HylaFAX
// tells the current layout from the original one.
const Class2Version = 1 << 21

// ErrClass2Params reports a value that is neither layout of an encoded
// Class2Params, or a value that has no Class 2 code.
var ErrClass2Params = errors.New("hylafax: invalid class 2 parameters")

// Class2Params are the T.30 session parameters of one call in HylaFAX's
// Class 2 codes. Encode gives the number HylaFAX stores in the TIFF tag
// FaxRecvParams, in xferfaxlog and in the FIFO messages. EC is ECEnable64
// when ECM was used and ECDisable otherwise (the encoding keeps one bit).
type Class2Params struct {
	VR uint8 // vertical resolution, one VR code
	BR uint8 // signalling rate, BR code
	WD uint8 // page width, WD code
	LN uint8 // page length, LN code
	DF uint8 // data format, DF code
	EC uint8 // error correction, EC code
	BF uint8 // binary file transfer, BF code
	ST uint8 // minimum scan line time, ST code
}

// Encode packs p as HylaFAX's Class2Params::encode does: vr | br<<3 |
// wd<<9 | ln<<12 | df<<14 | ec<<16 | bf<<17 | st<<18 | Class2Version.
// The inch-based resolutions fold into the metric ones (200x200 dpi is
// stored as fine), and EC keeps only "ECM used".
func (p Class2Params) Encode() uint32 {
	vr := uint32(p.VR) & 7
	if p.VR > 4 {
		vr = uint32(p.VR>>4) & 7
	}
	var ec uint32
	if p.EC != ECDisable {
		ec = 1
	}
	return vr |
		(uint32(p.BR)&15)<<3 |
		(uint32(p.WD)&7)<<9 |
		(uint32(p.LN)&3)<<12 |
		(uint32(p.DF)&3)<<14 |
		ec<<16 |
		(uint32(p.BF)&1)<<17 |
		(uint32(p.ST)&7)<<18 |
		Class2Version
}

// DecodeClass2Params unpacks a value made by Encode. Values without the
// version bit are read in the original HylaFAX layout (vr | br<<1 | wd<<4 |
// ln<<7 | df<<9 | ec<<11 | bf<<12 | st<<13) that old xferfaxlog lines and
// TIFF files still carry. Anything else is ErrClass2Params.
func DecodeClass2Params(v uint32) (Class2Params, error) {
	var p Class2Params
	switch {
	case v>>21 == 1:
		p = Class2Params{
			VR: uint8(v & 7),
			BR: uint8(v >> 3 & 15),
			WD: uint8(v >> 9 & 7),
			LN: uint8(v >> 12 & 3),
			DF: uint8(v >> 14 & 3),
			EC: uint8(v >> 16 & 1),
			BF: uint8(v >> 17 & 1),
			ST: uint8(v >> 18 & 7),
		}
	case v>>16 == 0:
		p = Class2Params{
			VR: uint8(v & 1),
			BR: uint8(v >> 1 & 7),
			WD: uint8(v >> 4 & 7),
			LN: uint8(v >> 7 & 3),
			DF: uint8(v >> 9 & 3),
			EC: uint8(v >> 11 & 1),
			BF: uint8(v >> 12 & 1),
			ST: uint8(v >> 13 & 7),
		}
	default:
		return Class2Params{}, fmt.Errorf("%w: %#x", ErrClass2Params, v)
	}
	if p.LN == 3 { // HylaFAX's internal "US letter" is sent as A4
		p.LN = LNA4
	}
	return p, nil
}

// bitRates holds the rate of each BR code in bit/s.
var bitRates = [...]int{2400, 4800, 7200, 9600, 12000, 14400, 16800, 19200, 21600, 24000, 26400, 28800, 31200, 33600}

// BitRate returns the signalling rate in bit/s, or 0 for an unknown code.
func (p Class2Params) BitRate() int {
	if int(p.BR) < len(bitRates) {
		return bitRates[p.BR]
	}
	return 0
}

// BitRateCode returns the BR code of a signalling rate in bit/s, such as
// spandsp's fax_transfer_rate.
func BitRateCode(bps int) (uint8, error) {
	for i, r := range bitRates {
		if r == bps {
			return uint8(i), nil
		}
	}
	return 0, fmt.Errorf("%w: bit rate %d", ErrClass2Params, bps)
}

// SignalRate returns the rate as faxsend writes it into the qfile's
// signalrate and HylaFAX prints it: "14400 bit/s".
func (p Class2Params) SignalRate() string {
	return strconv.Itoa(p.BitRate()) + " bit/s"
}

// dataFormats holds HylaFAX's names of the DF codes.
var dataFormats = [...]string{"1-D MH", "2-D MR", "2-D Uncompressed Mode", "2-D MMR", "JBIG", "JPEG Greyscale", "JPEG Full-Color"}

// DataFormat returns the name of the data format as faxsend writes it into
// the qfile's dataformat: "1-D MH", "2-D MR", "2-D MMR", ... It is empty
// for an unknown code.
func (p Class2Params) DataFormat() string {
	if int(p.DF) < len(dataFormats) {
		return dataFormats[p.DF]
	}
	return ""
}

// DataFormatCode returns the DF code of a spandsp compression name, the
// fax_encoding_name of FreeSWITCH ("T.4 1-D", "T.4 2-D", "T.6", "T.85",
// "T.85(L0)").
func DataFormatCode(encodingName string) (uint8, error) {
	switch strings.TrimSpace(encodingName) {
	case "T.4 1-D":
		return DF1DMH, nil
	case "T.4 2-D":
		return DF2DMR, nil
	case "T.6":
		return DF2DMMR, nil
	case "T.85", "T.85(L0)":
		return DFJBIG, nil
	}
	return 0, fmt.Errorf("%w: encoding %q", ErrClass2Params, encodingName)
}

// ResolutionCode returns the VR code of a page resolution in dots per inch
// as HylaFAX's Class2Params::setRes chooses it. Values are rounded first,
// so spandsp's 204.2 x 195.6 dpi is fine (VRFine), and R16 is 408 x 391
// (setRes wants more than 391 lines and would call it 300 x 300).
func ResolutionCode(xdpi, ydpi float64) uint8 {
	x, y := math.Round(xdpi), math.Round(ydpi)
	switch {
	case x > 300 && y >= 391:
		return VRR16
	case x > 204 && y > 250:
		return VR300x300
	case y > 391:
		return VR200x400
	case y > 250:
		return VRR8
	case y > 196:
		return VR200x200
	case y > 150:
		return VRFine
	case y > 98:
		return VR200x100
	}
	return VRNormal
}

// SpandspResolutionCode returns the VR code of spandsp's resolution text,
// "<x>x<y>" in pixels per metre (fax_image_resolution, "8040x7700" for
// fine).
func SpandspResolutionCode(res string) (uint8, error) {
	xs, ys, ok := strings.Cut(strings.TrimSpace(res), "x")
	x, errx := strconv.Atoi(xs)
	y, erry := strconv.Atoi(ys)
	if !ok || errx != nil || erry != nil || x <= 0 || y <= 0 {
		return 0, fmt.Errorf("%w: resolution %q", ErrClass2Params, res)
	}
	const inchPerMetre = 0.0254
	return ResolutionCode(float64(x)*inchPerMetre, float64(y)*inchPerMetre), nil
}

// Capabilities is what a modem can do: in each field bit n is set when
// code n is supported (VR holds VR codes, which are bits themselves;
// VRNormal is always supported). faxq matches jobs to modems by VR, WD
// and LN, and prepares documents for the best DF.
type Capabilities struct {
	VR, BR, WD, LN, DF, EC, BF, ST uint16
}

// Encode packs c into the word of the "+<modem>:R" announcement (HylaFAX's
// Class2Params::encodeCaps): VR bits 0-6, BR 8-13, WD 14-18, LN 19-21,
// DF 22-25, EC 26-27, BF 28-29, ST 30-31. Bits that do not fit are
// dropped: only BR2400..BR14400, four data formats and ST0ms/ST5ms.
func (c Capabilities) Encode() uint32 {
	return uint32(c.VR)&0x7f |
		(uint32(c.BR)&0x3f)<<8 |
		(uint32(c.WD)&0x1f)<<14 |
		(uint32(c.LN)&0x7)<<19 |
		(uint32(c.DF)&0xf)<<22 |
		(uint32(c.EC)&0x3)<<26 |
		(uint32(c.BF)&0x3)<<28 |
		(uint32(c.ST)&0x3)<<30
}

// DecodeCapabilities unpacks a capability word made by Encode.
func DecodeCapabilities(v uint32) Capabilities {
	return Capabilities{
		VR: uint16(v & 0x7f),
		BR: uint16(v >> 8 & 0x3f),
		WD: uint16(v >> 14 & 0x1f),
		LN: uint16(v >> 19 & 0x7),
		DF: uint16(v >> 22 & 0xf),
		EC: uint16(v >> 26 & 0x3),
		BF: uint16(v >> 28 & 0x3),
		ST: uint16(v >> 30 & 0x3),
	}
}

// FreeSWITCHCapabilities is what FreeSWITCH's mod_spandsp sends and
// receives: normal and fine resolution (faxq then prepares documents at
// 98 or 196 lpi, which every receiver accepts), V.27ter to V.17 (2400 to
// 14400 bit/s, also the T.38 maximum), A4/B4/A3 widths (spandsp has no
// A5/A6), any length, MH, MR and MMR, with and without ECM, no BFT,
// 0 and 5 ms scan line time. It encodes as 0xcef9ff01. GOfax.IP announced
// 0xcbffff01, which also claimed A5/A6 widths and uncompressed mode that
// spandsp cannot send.
var FreeSWITCHCapabilities = Capabilities{
	VR: VRFine,
	BR: 1<<BR2400 | 1<<BR4800 | 1<<BR7200 | 1<<BR9600 | 1<<BR12000 | 1<<BR14400,
	WD: 1<<WD1728 | 1<<WD2048 | 1<<WD2432,
	LN: 1<<LNA4 | 1<<LNB4 | 1<<LNUnlimited,
	DF: 1<<DF1DMH | 1<<DF2DMR | 1<<DF2DMMR,
	EC: 1<<ECDisable | 1<<ECEnable64,
	ST: 1<<ST0ms | 1<<ST5ms,
}
