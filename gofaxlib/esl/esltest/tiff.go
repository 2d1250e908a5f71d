package esltest

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/gofaxserver/gofaxserver/gofaxlib/faxdoc"
)

// maxDocumentBytes bounds a fax document the simulator holds in memory:
// real faxes are tens of KB per page; 64 MiB is hundreds of pages.
const maxDocumentBytes = 64 << 20

// readDocument reads the TIFF a txfax sends and counts its pages.
func readDocument(path string) ([]byte, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDocumentBytes+1))
	if err != nil {
		return nil, 0, err
	}
	if len(data) > maxDocumentBytes {
		return nil, 0, fmt.Errorf("esltest: %s larger than %d bytes", path, maxDocumentBytes)
	}
	n, err := documentPages(data)
	if err != nil {
		return nil, 0, fmt.Errorf("esltest: %s: %w", path, err)
	}
	return data, n, nil
}

// documentPages returns the page count of a document, which must be one
// faxdoc can copy page by page, as rxfax does.
func documentPages(doc []byte) (int, error) {
	return faxdoc.Merge(io.Discard, []faxdoc.Source{{R: bytes.NewReader(doc), Size: int64(len(doc))}})
}

// CountPages returns the number of pages of a TIFF document.
func CountPages(path string) (int, error) {
	_, n, err := readDocument(path)
	return n, err
}

// receivedFile returns the TIFF rxfax leaves after receiving pages pages
// of doc in a session at rate bit/s: page i is page i mod len of doc,
// renumbered, with the FaxDcs of its coding (codePage) and, when not
// empty, remoteID as ImageDescription, as spandsp writes them.
func receivedFile(doc []byte, pages int, remoteID string, rate int) ([]byte, error) {
	coding, err := documentCoding(doc, rate)
	if err != nil {
		return nil, err
	}
	if len(coding) == 0 {
		return nil, fmt.Errorf("esltest: document without pages: %w", faxdoc.ErrFormat)
	}
	srcs := make([]faxdoc.Source, pages)
	for k := range srcs {
		i := k % len(coding)
		set := []faxdoc.Field{faxdoc.ASCII(faxdoc.TagFaxDcs, coding[i].dcs)}
		if remoteID != "" {
			set = append(set, faxdoc.ASCII(faxdoc.TagImageDescription, remoteID))
		}
		srcs[k] = faxdoc.Source{R: bytes.NewReader(doc), Size: int64(len(doc)), First: i, Count: 1, Set: set}
	}
	var out bytes.Buffer
	if _, err := faxdoc.Merge(&out, srcs); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// writeReceived writes the received file to path in place, as libtiff
// does for rxfax: the file the receiver created keeps its inode, owner,
// mode and locks (created with 0666 less the umask when missing).
func writeReceived(path string, doc []byte, pages int, remoteID string, rate int) error {
	if doc == nil {
		return fmt.Errorf("esltest: no document to receive")
	}
	data, err := receivedFile(doc, pages, remoteID, rate)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
