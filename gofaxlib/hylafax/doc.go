// Package hylafax reads and writes the files of a HylaFAX 6 spool the way
// faxq, hfaxd, faxgetty and faxsend do, so that programs replacing faxgetty
// and faxsend stay invisible to HylaFAX and its tools.
//
// Every path is relative to a spool directory that the caller passes in
// (HylaFAX processes chdir there; tests use a temporary directory).
//
// # Job files (qfiles)
//
// sendq/q<jobid> holds one "tag:value" per line. Blanks after the colon are
// skipped, and a status value whose line ends in a backslash continues on
// the next line:
//
//	tts:1795327911
//	state:6
//	number:5551234
//	status:Busy signal detected\
//	(retrying)
//	returned:7
//	!tiff:0::docq/doc2.tif.2
//	fax:0::docq/doc2.tif;00
//
// ParseQfile keeps every line, including unknown tags and lines without a
// colon (reported as warnings, as faxq logs and skips them), so a file that
// was not changed is written back byte for byte. OpenQfile locks the file
// with flock and Save rewrites it in place, keeping the inode that faxq and
// hfaxd know.
//
// # Sequence files and names
//
// recvq/seqf, log/seqf, sendq/seqf and docq/seqf hold the next number to
// use, in ASCII without a newline. NextSeq takes one under flock and wraps
// before 999999999; a Sequence hands them to the goroutines of a daemon
// in the order they asked, several under one flock, and fsyncs the file
// once for many (Sync). Received faxes are recvq/fax%09u.tif, session logs
// log/c%09u, and the 9-digit number is the commid of the qfile, the FIFO
// messages and xferfaxlog.
//
// # Transfer log
//
// log/xferfaxlog (Debian's place; upstream uses etc/xferfaxlog) has one
// line of 19 TAB-separated fields per call, read by xferfaxstats, recvstats
// and faxcron:
//
//	12/01/26 12:50	SEND	000000042	freeswitch0	7	"tag"	root@host	"5551234"	"+49 30 1234"	2162728	1	0:00:31	0:00:25	""	""	""	""	"root"	"00 00 00"
//
// # Session logs and modem status
//
// log/c%09u is the transcript of one call ("Dec 01 12:50:37.42: [ 1234]:
// text" lines between SESSION BEGIN and SESSION END), and status/<modem>
// is the one-line text faxstat shows for a modem.
package hylafax
