package journal

import (
	"bufio"
	"errors"
	"io"
)

// scanResult is what scan read from a segment.
type scanResult struct {
	// consumed is how many bytes were read and dealt with: records and
	// skipped lines. A partial last line of a segment still being
	// written is not consumed.
	consumed int64
	// skipped counts lines that were not valid records.
	skipped int
}

// scan reads the records of a segment from r, calling fn for each valid
// one with its offset from where r started. final says the segment's
// writer is gone: a partial last line is then a torn write, skipped and
// counted; otherwise it is left for a later read.
func scan(r io.Reader, final bool, fn func(rec Record, off int64)) (scanResult, error) {
	var res scanResult
	br := bufio.NewReaderSize(r, MaxRecordSize)
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if rec, derr := Decode(line); derr == nil {
				fn(rec, res.consumed)
			} else {
				res.skipped++
			}
			res.consumed += int64(len(line))
			continue
		case errors.Is(err, bufio.ErrBufferFull):
			// Longer than any record: skip to the next newline.
			n := int64(len(line))
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				n += int64(len(line))
			}
			switch {
			case err == nil:
				res.skipped++
				res.consumed += n
				continue
			case errors.Is(err, io.EOF):
				if final {
					res.skipped++
					res.consumed += n
				}
				return res, nil
			}
			return res, err
		case errors.Is(err, io.EOF):
			if len(line) > 0 && final {
				res.skipped++
				res.consumed += int64(len(line))
			}
			return res, nil
		default:
			return res, err
		}
	}
}
