package hylafax

import (
	"context"
	"fmt"
	"path/filepath"
)

// Spool paths, relative to the spool directory.
const (
	RecvSeqFile = "recvq/seqf"     // numbers of received faxes
	LogSeqFile  = "log/seqf"       // commids
	SendSeqFile = "sendq/seqf"     // job ids (hfaxd)
	DocSeqFile  = "docq/seqf"      // document numbers (hfaxd)
	XferLogFile = "log/xferfaxlog" // Debian's place; upstream uses etc/xferfaxlog
	StatusDir   = "status"
)

// CommID formats a session number as HylaFAX does everywhere (%09u): in
// the qfile, FIFO messages, xferfaxlog and the session log name.
func CommID(seq int) string { return fmt.Sprintf("%09d", seq) }

// RecvFileName returns the spool-relative name of received fax seq,
// recvq/fax%09u.tif.
func RecvFileName(seq int) string { return fmt.Sprintf("recvq/fax%09d.tif", seq) }

// SessionLogName returns the spool-relative name of the session log of
// commid, log/c<commid>.
func SessionLogName(commid string) string { return "log/c" + commid }

// NextCommID takes the next commid from log/seqf of spool.
func NextCommID(ctx context.Context, spool string) (string, error) {
	n, err := NextSeq(ctx, filepath.Join(spool, LogSeqFile))
	if err != nil {
		return "", err
	}
	return CommID(n), nil
}
