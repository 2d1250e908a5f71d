package hylafax

import (
	"fmt"
	"strings"
)

// T.30 Table 2 bit numbers (1-based, as the Recommendation counts them)
// that a DCS made from Class2Params sets.
const (
	dcsBitT4Receiver = 10 // "receiver fax operation", always set
	dcsBitRate11     = 11 // bits 11-14: signalling rate and modulation
	dcsBitRate12     = 12
	dcsBitRate14     = 14
	dcsBitFine       = 15 // R8 x 7.7 l/mm, or 200 x 200 dpi
	dcsBit2DMR       = 16
	dcsBitWidthB4    = 17 // bits 17-18: recording width
	dcsBitWidthA3    = 18
	dcsBitLengthB4   = 19 // bits 19-20: recording length
	dcsBitLengthInf  = 20
	dcsBitScan21     = 21 // bits 21-23: minimum scan line time
	dcsBitScan22     = 22
	dcsBitScan23     = 23
	dcsBitECM        = 27
	dcsBitFrame64    = 28 // ECM frames of 64 instead of 256 bytes
	dcsBit2DMMR      = 31
	dcsBitR8Super    = 41 // R8 x 15.4 l/mm, or 200 x 400 dpi
	dcsBit300x300    = 42
	dcsBitR16        = 43 // R16 x 15.4 l/mm
	dcsBitJBIG       = 78 // T.85 basic

	// dcsMaxBytes is the longest frame HylaFAX keeps (FaxParams).
	dcsMaxBytes = 16
)

// DCS returns the T.30 Digital Command Signal for the session p describes
// as HylaFAX writes it into field 19 of an xferfaxlog record: the frame's
// bytes in upper-case hex separated by blanks, T.30 bit 1 the most
// significant bit of the first byte, at least three bytes and then as far
// as the extend bits reach ("00 46 0F 22" is 14400 bit/s, fine, MMR with
// ECM). xferfaxstats reads the data format from it.
//
// The bits are those HylaFAX's faxsend derives from its Class2Params:
// V.27ter/V.29/V.17 rates (V.34 and 2400 bit/s set none), resolution,
// width, length, MR, MMR and JBIG (the last two only with ECM), the scan
// line time and ECM with its frame size. Inch-based resolutions are
// written as their metric equivalents, like HylaFAX does.
func (p Class2Params) DCS() string {
	var f [dcsMaxBytes]byte
	set := func(bit int) { f[(bit-1)/8] |= 0x80 >> ((bit - 1) % 8) }

	set(dcsBitT4Receiver)
	switch p.VR {
	case VRFine, VR200x200:
		set(dcsBitFine)
	case VRR8, VR200x400:
		set(dcsBitR8Super)
	case VRR16:
		set(dcsBitR16)
	case VR300x300:
		set(dcsBit300x300)
	}
	switch p.BR {
	case BR14400:
		set(dcsBitRate14)
	case BR12000:
		set(dcsBitRate14)
		set(dcsBitRate12)
	case BR9600:
		set(dcsBitRate11)
	case BR7200:
		set(dcsBitRate11)
		set(dcsBitRate12)
	case BR4800:
		set(dcsBitRate12)
	}
	switch p.WD {
	case WD2432:
		set(dcsBitWidthA3)
	case WD2048:
		set(dcsBitWidthB4)
	}
	switch p.LN {
	case LNUnlimited:
		set(dcsBitLengthInf)
	case LNB4:
		set(dcsBitLengthB4)
	}
	ecm := p.EC == ECEnable64 || p.EC == ECEnable256
	switch {
	case p.DF == DF2DMR:
		set(dcsBit2DMR)
	case p.DF == DF2DMMR && ecm:
		set(dcsBit2DMMR)
	case p.DF == DFJBIG && ecm:
		set(dcsBitJBIG)
	}
	// Bits 21-23 as T.30 codes the minimum scan line time: 20 ms is 000,
	// 0 ms 111; the "x/y" codes are the times for normal/fine resolution.
	switch p.ST {
	case ST5ms, ST20ms10ms, ST40ms20ms, ST0ms:
		set(dcsBitScan21)
	}
	switch p.ST {
	case ST10ms, ST10ms5ms, ST20ms10ms, ST0ms:
		set(dcsBitScan22)
	}
	switch p.ST {
	case ST40ms, ST10ms5ms, ST40ms20ms, ST0ms:
		set(dcsBitScan23)
	}
	if ecm {
		set(dcsBitECM)
		if p.EC == ECEnable64 {
			set(dcsBitFrame64)
		}
	}

	// The last bit of every byte from the third on says another follows.
	last := 2
	for i := dcsMaxBytes - 1; i > 2; i-- {
		if f[i] != 0 {
			last = i
			break
		}
	}
	for i := 2; i < last; i++ {
		f[i] |= 0x01
	}
	var b strings.Builder
	for i := 0; i <= last; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%02X", f[i])
	}
	return b.String()
}
