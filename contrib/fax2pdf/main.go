// Command fax2pdf writes a fax TIFF (received by gofaxd or prepared by
// faxq: CCITT G3 1-D/2-D or G4) as a PDF, the CCITT data passed through
// undecoded, one page per TIFF page of its natural size:
//
//	fax2pdf recvq/fax000000042.tif fax42.pdf
//	fax2pdf recvq/fax000000042.tif - > fax42.pdf
//
// It is faxdoc.TIFFToPDF on the command line, like libtiff's tiff2pdf.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gofaxserver/gofaxserver/gofaxlib/faxdoc"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run converts args[0] to args[1] ("-" for stdout) and returns the exit
// status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "usage: fax2pdf in.tif out.pdf|-")
		return 2
	}
	if err := convert(args[0], args[1], stdout); err != nil {
		fmt.Fprintln(stderr, "fax2pdf:", err)
		return 1
	}
	return 0
}

func convert(in, out string, stdout io.Writer) (err error) {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if out == "-" {
		_, err = faxdoc.TIFFToPDF(stdout, f, fi.Size())
		return err
	}
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			err = errors.Join(err, os.Remove(out))
		}
	}()
	_, err = faxdoc.TIFFToPDF(w, f, fi.Size())
	return err
}
