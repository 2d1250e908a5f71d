// Package faxdoc reads and writes the TIFF files fax documents travel in:
// what spandsp's rxfax writes, what faxq prepares for sending (TIFF/F,
// CCITT G3/G4 strips) and what HylaFAX's tools read.
//
// Read walks the directory chain of a classic TIFF (either byte order)
// without touching the image data and describes every page (PageInfo).
// Two writers build on it: Merge copies a selection of pages from one or
// more files into one new file, and (*File).Retag gives every page new or
// replaced tags by appending directories, so that a file being tagged is
// valid at every moment and its image data never moves.
//
// PDF output passes the CCITT data through undecoded: TIFFToPDF (and
// (*File).WritePDF) write one page per TIFF page, of its natural size,
// each page's strips as one CCITTFaxDecode image (/K 0 for G3 1-D,
// /K > 0 for 2-D, /K -1 for G4; /BlackIs1 for min-is-black; bits reversed
// for FillOrder 2), or one image per strip where strips cannot be joined.
// PDF composes documents of such images and lines of Helvetica text, as
// a transmission report needs.
//
// Every read is bounded (MaxFileSize, MaxPages, MaxEntries,
// MaxValueBytes, MaxImageWidth, MaxImageRows); damaged input is reported
// as ErrFormat, never a panic.
package faxdoc

import "errors"

// ErrFormat reports a file that is not a TIFF this package can use, or
// one beyond its limits.
var ErrFormat = errors.New("faxdoc: not a usable TIFF file")

// Limits on what a file may hold. A fax page is one directory of about 25
// tags and one strip; anything far beyond these is damage, not a fax.
const (
	// MaxFileSize keeps every offset, of files read and written, well
	// inside TIFF's 32 bits with room to append directories (Retag); it
	// is thousands of fax pages.
	MaxFileSize = 1 << 30
	// MaxPages bounds the directory chain: HylaFAX's MaxRecvPages and
	// MaxSendPages are in the tens or hundreds.
	MaxPages = 10000
	// MaxEntries bounds the tags of one directory; libtiff writes about
	// 25 for a fax page.
	MaxEntries = 1000
	// MaxValueBytes bounds one tag value that is read into memory, strip
	// tables included (16384 strips).
	MaxValueBytes = 64 << 10
)

// Tags this package or its users read or set. The Fax* tags are HylaFAX's
// (registered private tags that libtiff knows).
const (
	TagImageWidth       = 256
	TagImageLength      = 257
	TagCompression      = 259
	TagFillOrder        = 266
	TagImageDescription = 270
	TagStripOffsets     = 273
	TagStripByteCounts  = 279
	TagXResolution      = 282
	TagYResolution      = 283
	TagT4Options        = 292
	TagResolutionUnit   = 296
	TagPageNumber       = 297
	TagFaxRecvParams    = 34908
	TagFaxSubAddress    = 34909
	TagFaxRecvTime      = 34910
	TagFaxDcs           = 34911
)
