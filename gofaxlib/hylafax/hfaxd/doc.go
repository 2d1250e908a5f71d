// Package hfaxd is a client for the client protocol of HylaFAX's hfaxd
// (TCP port 4559): the protocol sendfax, faxstat, faxrm and clients such
// as YajHFC and AvantFAX speak. It submits faxes as HylaFAX jobs, so that
// faxq schedules, converts, retries and reports them like any other.
//
// # The protocol
//
// The framing is FTP's (RFC 959): a command line ending in CR LF, then a
// reply of a three-digit code and text. A multi-line reply starts with
// "xyz-" and ends with a line starting "xyz ". hfaxd adds job control.
// A submission, as this package sends it:
//
//	220 vm server (HylaFAX (tm) Version 6.0.7) ready.
//	USER "gofax"                      331 Password required for gofax.
//	PASS "secret"                     230 User gofax logged in.
//	ADMIN "admin-secret"              230 Administrative privileges established.
//	TZONE GMT                         200 Using time values in GMT.
//	TYPE I                            200 Type set to Image.
//	SITE LOCKWAIT 5                   213 Lock timeout set to 5.
//	PASV                              227 Entering passive mode (127,0,0,1,226,239)
//	STOT                              150 FILE: /tmp/doc1.ps (Opening new data connection).
//	  (the document on the data connection, then its end)
//	                                  226 Transfer complete (FILE: /tmp/doc1.ps).
//	JOB default                       200 Current job: (default).
//	JNEW                              200 New job created: jobid: 1 groupid: 1.
//	JPARM DIALSTRING "5551234"        213 DIALSTRING set to "5551234".
//	JPARM OWNER "alice"               213 OWNER set to "alice".
//	JPARM USRKEY "6f1c..."            213 USRKEY set to "6f1c...".
//	JPARM LASTTIME "010000"           213 LASTTIME set to 010000.
//	JPARM DOCUMENT "/tmp/doc1.ps"     200 Added document /tmp/doc1.ps as docq/doc1.ps.1.
//	JSUBM 1                           200 Job 1 submitted.
//
// Arguments go between double quotes, '"' and '\' escaped with '\', which
// hfaxd's parser undoes; control characters (CR, LF, NUL, ...) are refused
// (ErrArgument), as is a line longer than hfaxd's 512-byte buffer takes
// whole (MaxCommandLine). hfaxd reads everything available and answers
// each command in turn, so parameters are sent together and their replies
// read after.
//
// # What hfaxd does that callers must know
//
//   - Setting another job owner (JPARM OWNER) needs administrator rights
//     (ADMIN); others get "503 Permission denied".
//   - A job created (JNEW) but not submitted when its session ends is
//     deleted by hfaxd, and so are the files uploaded in the session
//     (STOT). A client that dies right after sending JSUBM may leave no
//     job: hfaxd removes it unless faxq acknowledged it first. After a
//     lost JSUBM reply (ErrOutcomeUnknown) look the job up by its user key
//     (JobsByUserKey) before submitting again.
//   - A job without LASTTIME is timed out by faxq at once (hfaxd's
//     default kill time is 3 hours as an absolute time); JobSpec always
//     sends one (DefaultKillAfter).
//   - hfaxd caches a job's state per session and rereads the qfile only
//     when its modification time is a later second than when it read it;
//     a change faxq makes within the same second shows at its next change.
//     Submit makes its session reread the job it submitted (JREST).
//   - Now and then (about once in 200 submissions from concurrent
//     sessions) that reread happens to a new job between JNEW and JSUBM
//     and drops the parameters set so far; JSUBM is then refused for the
//     missing DIALSTRING (sendfax fails the same way). Submit deletes
//     such a job and makes it again.
//   - A bare JPARM about a job that moved from sendq to doneq since JOB
//     found it gets no reply at all; JobStatus sends a NOOP along to tell.
//   - On a fresh spool, sessions that make the first job (or upload the
//     first document) at the same moment race to create hfaxd's sequence
//     number file; the losers are refused ("Unable to open sequence
//     number file ...; File exists"). NewJob tries JNEW again; a refused
//     upload breaks its session (ErrOutcomeUnknown) and is the caller's
//     to repeat.
//   - hfaxd writes the replies to pipelined commands, and an upload's
//     final reply, with Nagle's algorithm on: each waits for the ACK of
//     the one before. The session acknowledges at once (TCP_QUICKACK on
//     Linux) so that they do not wait for a delayed ACK (40 ms).
//
// # Limits and errors
//
// Every read is bounded (MaxLineLength, MaxReplyLines, MaxListBytes) and
// every exchange has a deadline (Config.Timeout, or the context's). A
// refusal is a *ReplyError, after which the session stays usable; any
// other error (lost connection, timeout, cancellation, protocol error)
// makes it unusable. Pool keeps a bounded set of sessions and replaces
// broken ones.
//
// The package uses only the standard library and knows nothing of
// tenants or configuration files.
package hfaxd
